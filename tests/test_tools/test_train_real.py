# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import json
import math
import subprocess
import sys

import torch

from conftest import CPU_CONFIG, FERPLUS_ROOT, REPO_ROOT, requires_ferplus

LOSS_KEYS = ('loss', 'loss_sim', 'loss_rec', 'loss_kd', 'loss_group')


def read_scalars(work_dir):
    """Return the logged training scalars, one dict per logged iteration."""
    (scalars, ) = work_dir.glob('*/vis_data/scalars.json')
    return [json.loads(line) for line in scalars.read_text().splitlines()]


@requires_ferplus
def test_train_tool_on_ferplus_faces(tmp_path):
    work_dir = tmp_path / 'work'
    command = [
        sys.executable, 'tools/train.py', str(CPU_CONFIG),
        '--work-dir', str(work_dir),
        '--data-root', str(FERPLUS_ROOT),
        '--cfg-options',
        'train_dataloader.dataset.indices=48',
        'train_dataloader.batch_size=16',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
    ]  # yapf: disable
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]

    assert 'using 48 of 28558 images found under' in log
    assert 'FaceMAE keeps 9 of 36 patches of 16x16 at 96x96' in log
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    assert [r['iter'] for r in records] == [1, 2, 3]
    for record in records:
        for key in LOSS_KEYS:
            assert math.isfinite(record[key]), (key, record)
        parts = sum(record[key] for key in LOSS_KEYS[1:])
        assert math.isclose(record['loss'], parts, rel_tol=1e-4)

    checkpoint = torch.load(
        work_dir / 'epoch_1.pth', map_location='cpu', weights_only=False)
    state = checkpoint['state_dict']
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['meta']['iter'] == 3
    assert 'backbone.conv1.weight' in state
    assert 'target_net.module.0.conv1.weight' in state
    assert 'mask_generator.conv.weight' in state
    assert all(torch.isfinite(v).all() for v in state.values()
               if v.is_floating_point())
