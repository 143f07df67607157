# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import os
import subprocess
import sys

import torch
from mmpretrain.registry import MODELS

from conftest import CPU_CONFIG, REPO_ROOT

TINY_RUN = [
    'train_dataloader.dataset.indices=8',
    'train_dataloader.batch_size=4',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=1',
]


def train(work_dir, tmp_path, *extra):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / 'cache'))
    command = [
        sys.executable, 'tools/train.py', str(CPU_CONFIG),
        '--work-dir', str(work_dir),
        # No data here: the LFW faces of scikit-image stand in.
        '--data-root', str(tmp_path / 'no_ferplus'),
        *extra,
    ]  # yapf: disable
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    return log


def test_resume_continues_from_checkpoint(tmp_path):
    work_dir = tmp_path / 'work'
    train(work_dir, tmp_path, '--cfg-options', 'train_cfg.max_epochs=1',
          *TINY_RUN)
    first = torch.load(work_dir / 'epoch_1.pth', weights_only=False)

    log = train(work_dir, tmp_path, '--resume', '--cfg-options',
                'train_cfg.max_epochs=2', *TINY_RUN)
    second = torch.load(work_dir / 'epoch_2.pth', weights_only=False)

    assert 'resumed epoch: 1, iter: 2' in log
    assert 'Epoch(train) [2][2/2]' in log
    assert second['meta']['epoch'] == 2
    assert second['meta']['iter'] == 4
    key = 'target_net.module.0.conv1.weight'
    assert not torch.equal(first['state_dict'][key], second['state_dict'][key])
    assert first['optimizer']['state'], 'optimizer state was not saved'


def test_pretrained_init_loads_backbone_by_prefix(tmp_path):
    work_dir = tmp_path / 'work'
    train(work_dir, tmp_path, '--cfg-options', 'train_cfg.max_epochs=1',
          *TINY_RUN)
    checkpoint = work_dir / 'epoch_1.pth'
    state = torch.load(checkpoint, weights_only=False)['state_dict']

    backbone = MODELS.build(
        dict(
            type='ResNet',
            depth=18,
            init_cfg=dict(
                type='Pretrained',
                checkpoint=str(checkpoint),
                prefix='backbone.')))
    backbone.init_weights()

    for name, value in backbone.state_dict().items():
        assert torch.equal(value, state['backbone.' + name]), name
