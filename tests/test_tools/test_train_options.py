# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import pytest
import torch

from conftest import CPU_CONFIG, R50_CONFIG
from mmsimfle.tools.train import build_config, parse_args


def config_for(*argv):
    return build_config(parse_args([str(argv[0]), *argv[1:]]))


def test_data_root_option_sets_train_dataset_root(tmp_path):
    cfg = config_for(CPU_CONFIG, '--data-root', str(tmp_path))
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path)
    assert cfg.train_dataloader.dataset.data_prefix == 'FER2013Train'


def test_default_work_dir_is_named_after_config():
    cfg = config_for(R50_CONFIG)
    assert cfg.work_dir == './work_dirs/simfle_r50_8xb64_affectnet'


def test_r50_recipe_values():
    cfg = config_for(R50_CONFIG)
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(0.1)
    assert cfg.optim_wrapper.optimizer.weight_decay == pytest.approx(1e-4)
    assert cfg.optim_wrapper.optimizer.momentum == pytest.approx(0.9)
    assert cfg.param_scheduler[0].T_max == 100
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.auto_scale_lr.base_batch_size == 512
    assert cfg.model.target_momentum == pytest.approx(0.01)
    assert cfg.sync_bn == 'torch'


def test_auto_scale_lr_and_amp_options():
    cfg = config_for(R50_CONFIG, '--auto-scale-lr', '--amp')
    assert cfg.auto_scale_lr.enable is True
    # AmpOptimWrapper needs an accelerator; without one --amp autocasts to
    # bfloat16.
    expected = ('AmpOptimWrapper'
                if torch.cuda.is_available() else 'AutocastOptimWrapper')
    assert cfg.optim_wrapper.type == expected


def test_resume_options(tmp_path):
    auto = config_for(CPU_CONFIG, '--resume')
    assert auto.resume is True
    assert auto.load_from is None

    checkpoint = tmp_path / 'epoch_1.pth'
    checkpoint.write_bytes(b'')
    explicit = config_for(CPU_CONFIG, '--resume', str(checkpoint))
    assert explicit.resume is True
    assert explicit.load_from == str(checkpoint)

    with pytest.raises(FileNotFoundError, match='missing.pth'):
        config_for(CPU_CONFIG, '--resume', str(tmp_path / 'missing.pth'))


def test_missing_config_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='no_such_config.py'):
        config_for(tmp_path / 'no_such_config.py')


def test_cfg_options_override_nested_keys():
    cfg = config_for(CPU_CONFIG, '--cfg-options', 'model.backbone.depth=34',
                     'train_dataloader.batch_size=8')
    assert cfg.model.backbone.depth == 34
    assert cfg.train_dataloader.batch_size == 8


def test_test_tool_rejects_pretraining_config(tmp_path):
    from mmsimfle.tools.test import main as test_main
    checkpoint = tmp_path / 'epoch_1.pth'
    checkpoint.write_bytes(b'')
    with pytest.raises(ValueError, match='has no test_dataloader'):
        test_main([str(CPU_CONFIG), str(checkpoint)])
