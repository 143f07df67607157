# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import importlib.util
import math
import os.path as osp

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark.py')
CPU_CONFIG = osp.join(REPO_ROOT, 'configs', 'simfle',
                      'simfle_r18_1xb32-coslr-5e_ferplus-96px.py')


@pytest.fixture(scope='module')
def benchmark():
    """Load tools/analysis_tools/benchmark.py, which is not a package."""
    spec = importlib.util.spec_from_file_location('simfle_benchmark', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def cpu_result(benchmark):
    # One step per dtype, without warm-up, at batch 2 keeps this to seconds.
    return benchmark.benchmark_config(
        CPU_CONFIG, batch_size=2, steps=1, warmup=0, dtypes=('fp32', 'bf16'))


def test_parameter_counts_match_model(benchmark, cpu_result):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    model = MODELS.build(Config.fromfile(CPU_CONFIG).model)
    params = list(model.parameters())
    counts = cpu_result['parameters']

    assert counts['total'] == sum(p.numel() for p in params)
    assert counts['trainable'] == sum(
        p.numel() for p in params if p.requires_grad)
    for name in benchmark.SIMFLE_SUBMODULES:
        submodule = getattr(model, name)
        expected = sum(p.numel() for p in submodule.parameters())
        assert counts['submodules'][name]['total'] == expected, name


def test_view_sizes_from_config(cpu_result):
    assert cpu_result['global_view_size'] == [96, 96]
    assert cpu_result['face_view_size'] == 96
    assert cpu_result['batch_size'] == 2


@pytest.mark.parametrize('dtype', ['fp32', 'bf16'])
def test_time_and_memory_positive(cpu_result, dtype):
    run = cpu_result['runs'][dtype]
    assert len(run['step_times_s']) == 1
    for key in ('median_step_s', 'min_step_s', 'images_per_s',
                'peak_rss_mib'):
        value = run[key]
        assert isinstance(value, float), key
        assert value > 0, key
        assert math.isfinite(value), key
    assert set(run['first_step_losses']) == {
        'loss_sim', 'loss_rec', 'loss_kd', 'loss_group'
    }


def test_bf16_compared_to_fp32(cpu_result):
    assert cpu_result['runs']['fp32']['fingerprint'] == (
        cpu_result['runs']['bf16']['fingerprint'])
    assert cpu_result['bf16_fp32_time_ratio'] > 0
    diffs = cpu_result['loss_relative_diff']
    assert set(diffs) == {'loss_sim', 'loss_rec', 'loss_kd', 'loss_group'}
    for term, diff in diffs.items():
        # bfloat16 keeps 8 significant bits, so a loss may move by a few
        # percent but not by a factor.
        assert diff >= 0, term
        assert diff < 0.5, term


def test_missing_config_rejected(benchmark, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(['--configs', 'configs/no_such_config.py'])
    assert 'config file not found' in capsys.readouterr().err


def test_batch_sizes_length_checked(benchmark, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(['--configs', CPU_CONFIG, '--batch-sizes', '2', '4'])
    assert 'give one batch size per config' in capsys.readouterr().err


def test_cuda_rejected_without_gpu(benchmark, capsys):
    if torch.cuda.is_available():
        pytest.skip('a GPU is available')
    with pytest.raises(SystemExit):
        benchmark.main(['--configs', CPU_CONFIG, '--device', 'cuda'])
    assert 'needs a GPU' in capsys.readouterr().err
