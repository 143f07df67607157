# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""tools/dist_train.sh: a 2-process torchrun job over gloo on the CPU."""
import math
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
DIST_TRAIN = REPO / 'tools' / 'dist_train.sh'
CPU_CONFIG = (
    REPO / 'configs' / 'simfle' / 'simfle_r18_1xb32-coslr-5e_ferplus-96px.py')
FERPLUS = (Path(__file__).parents[2] / '..' / 'shared' / 'data' /
           'ferplus').resolve()

WORLD_SIZE = 2
NUM_IMAGES = 16
BATCH_PER_PROCESS = 4
# DefaultSampler splits the 16 images over both processes: 8 each, in
# 2 batches of 4. A single process would run 4 iterations.
ITERS_PER_EPOCH = NUM_IMAGES // (WORLD_SIZE * BATCH_PER_PROCESS)
LOSS_TERMS = ('loss_sim', 'loss_rec', 'loss_kd', 'loss_group')
ITER_LINE = re.compile(r'Epoch\(train\)\s+\[1\]\[(\d+)/(\d+)\].*')


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def loss_values(line: str) -> dict:
    """Read ``name: value`` pairs of the loss terms from a log line."""
    values = {}
    for name in LOSS_TERMS:
        match = re.search(rf'\b{name}: (\S+)', line)
        assert match is not None, f'{name} missing from {line!r}'
        values[name] = float(match.group(1))
    return values


@pytest.fixture(scope='module')
def dist_run(tmp_path_factory):
    """Run dist_train.sh once with 2 CPU processes and return its results."""
    tmp = tmp_path_factory.mktemp('dist_train')
    work_dir = tmp / 'work_dir'

    env = dict(os.environ)
    env['PYTHON'] = sys.executable
    env['PORT'] = str(free_loopback_port())
    env['MASTER_ADDR'] = '127.0.0.1'
    if FERPLUS.is_dir():
        data_root = FERPLUS
        uses_fallback = False
    else:
        # The config's fallback writes scikit-image's LFW faces to the
        # cache folder, so the cache points into this test's folder.
        data_root = tmp / 'no_such_data_root'
        env['XDG_CACHE_HOME'] = str(tmp / 'cache')
        uses_fallback = True

    command = [
        'bash', str(DIST_TRAIN), str(CPU_CONFIG), str(WORLD_SIZE),
        '--work-dir', str(work_dir),
        '--data-root', str(data_root),
        '--cfg-options',
        f'train_dataloader.dataset.indices={NUM_IMAGES}',
        f'train_dataloader.batch_size={BATCH_PER_PROCESS}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
    ]
    result = subprocess.run(
        command,
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300)

    log_files = sorted(work_dir.glob('*/*.log'))
    return dict(
        result=result,
        work_dir=work_dir,
        data_root=data_root,
        uses_fallback=uses_fallback,
        cache=tmp / 'cache',
        log=log_files[0].read_text() if len(log_files) == 1 else None)


def test_exits_cleanly_with_one_log(dist_run):
    result = dist_run['result']
    assert result.returncode == 0, (
        f'dist_train.sh exited with {result.returncode}:\n'
        f'{result.stdout[-4000:]}\n{result.stderr[-4000:]}')
    assert dist_run['log'] is not None, 'expected exactly one log file'


def test_log_shows_two_process_gloo_job(dist_run):
    log = dist_run['log']
    assert log is not None
    # mmengine's environment section counts processes as "GPU number",
    # even when they run on the CPU.
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    assert f'GPU number: {WORLD_SIZE}' in log
    assert "dist_cfg: {'backend': 'gloo'}" in log
    if not torch.cuda.is_available():
        # On the CPU the model is wrapped without device_ids.
        assert re.search(r'model_wrapper_cfg = dict\(\s*device_ids=None',
                         log)


def test_log_shows_data_root(dist_run):
    log = dist_run['log']
    assert log is not None
    found = re.search(r'FaceImageFolder: using (\d+) of (\d+) images found '
                      r'under (\S+)', log)
    assert found is not None
    assert int(found.group(1)) == NUM_IMAGES
    if dist_run['uses_fallback']:
        assert 'falls back to the 100 LFW faces' in log
        assert int(found.group(2)) == 100
        assert found.group(3).startswith(str(dist_run['cache']))
    else:
        assert found.group(3).rstrip('/') == str(
            dist_run['data_root'] / 'FER2013Train')
        assert int(found.group(2)) > NUM_IMAGES


def test_every_iteration_logs_finite_loss_terms(dist_run):
    log = dist_run['log']
    assert log is not None
    lines = [m for m in ITER_LINE.finditer(log)]
    assert [int(m.group(1)) for m in lines] == list(
        range(1, ITERS_PER_EPOCH + 1))
    assert {int(m.group(2)) for m in lines} == {ITERS_PER_EPOCH}
    for match in lines:
        values = loss_values(match.group(0))
        for name, value in values.items():
            assert math.isfinite(value), f'{name}={value} in {match.group(0)}'
        total = float(re.search(r'\bloss: (\S+)', match.group(0)).group(1))
        # The logged total is the sum of the terms (to the printed digits).
        assert total == pytest.approx(sum(values.values()), abs=1e-3)
    # loss_sim is the sum of two terms 2 - 2 cos, each in [0, 4].
    assert 0.0 <= loss_values(lines[0].group(0))['loss_sim'] <= 8.0


def test_checkpoint_contains_online_and_target_networks(dist_run):
    path = dist_run['work_dir'] / 'epoch_1.pth'
    assert path.is_file()
    checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    assert 'state_dict' in checkpoint
    state = checkpoint['state_dict']
    assert any(key.startswith('backbone.') for key in state)
    assert any(key.startswith('target_net.') for key in state)
    # Saved without the DistributedDataParallel wrapper's prefix.
    assert not any(key.startswith('module.') for key in state)
    # ResNet-18: two blocks in the last stage, 512 channels.
    assert state['backbone.layer4.1.conv2.weight'].shape == (512, 512, 3, 3)
    assert 'backbone.layer4.2.conv1.weight' not in state
    for key, value in state.items():
        if value.is_floating_point():
            assert torch.isfinite(value).all(), key
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['meta']['iter'] == ITERS_PER_EPOCH


@pytest.mark.parametrize('args', [[], [str(CPU_CONFIG)]])
def test_too_few_arguments_print_usage(args):
    result = subprocess.run(['bash', str(DIST_TRAIN), *args],
                            capture_output=True,
                            text=True,
                            timeout=30)
    assert result.returncode == 2
    assert 'usage: bash tools/dist_train.sh CONFIG GPUS' in result.stderr
    assert result.stdout == ''
