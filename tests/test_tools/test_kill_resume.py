# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""A run killed with SIGKILL and resumed repeats the uninterrupted run.

Three epochs of 2 iterations of a shrunken CPU config on the LFW fallback
faces. Run A trains without interruption. Run B is killed in epoch 2 and
resumed from ``epoch_1.pth``. The resumed run logs the same four loss terms
as run A and ends with the same weights, optimizer and scheduler states.
Run C resumes the same checkpoint without RandomStateHook, and its losses
differ, so the hook is what makes the repeat exact.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import CPU_CONFIG, REPO_ROOT

LOSS_TERMS = ('loss_sim', 'loss_rec', 'loss_kd', 'loss_group')
ITERS_PER_EPOCH = 2
MAX_EPOCHS = 3

# The CPU config at 32x32 pixels with a 2-layer FaceMAE of width 32 and
# MLPs of width 64. Every random transform of the real pipeline is kept
# except the Gaussian blur.
TINY_CONFIG = f"""
_base_ = {str(CPU_CONFIG)!r}
model = dict(
    neck=dict(hid_channels=64, out_channels=16),
    head=dict(
        predictor=dict(in_channels=16, hid_channels=64, out_channels=16)),
    mask_generator=dict(num_groups=4, img_size=32),
    facemae_neck=dict(
        img_size=32,
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2,
            feedforward_channels=64),
        decoder_embed_dim=32,
        decoder_depth=1,
        decoder_num_heads=2),
    gfl_distill_neck=dict(hid_channels=64, out_channels=16),
    ffl_distill_neck=dict(in_channels=32, hid_channels=64, out_channels=16))
global_view_pipeline = [
    dict(type='RandomResizedCrop', scale=32, backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='HueSafeColorJitter',
                brightness=0.8,
                contrast=0.8,
                saturation=0.8,
                hue=0.2)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
]
face_view_pipeline = [
    dict(type='ResizeEdge', scale=32, edge='short'),
    dict(type='CenterCrop', crop_size=32),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        indices={4 * ITERS_PER_EPOCH},
        pipeline=[
            dict(type='LoadImageFromFile', color_type='color'),
            dict(
                type='MultiView',
                num_views=[2, 1],
                transforms=[global_view_pipeline, face_view_pipeline]),
            dict(type='PackInputs'),
        ]))
train_cfg = dict(max_epochs={MAX_EPOCHS})
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max={MAX_EPOCHS},
        eta_min=0.,
        by_epoch=True,
        begin=0,
        end={MAX_EPOCHS})
]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, max_keep_ckpts=-1))
# One value per logged iteration instead of a 10-iteration mean.
log_processor = dict(window_size=1)
randomness = dict(seed=0, deterministic=True)
"""

WITHOUT_HOOK = "\ncustom_hooks = [dict(type='SimFLEInfoHook')]\n"


def train_command(config, work_dir, tmp_path, *extra):
    return [
        sys.executable, 'tools/train.py', str(config),
        '--work-dir', str(work_dir),
        # No data here: the LFW faces of scikit-image stand in.
        '--data-root', str(tmp_path / 'no_ferplus'),
        *extra,
    ]  # yapf: disable


def start(command, tmp_path, log_path):
    env = dict(
        os.environ,
        XDG_CACHE_HOME=str(tmp_path / 'cache'),
        # One thread per run: the runs share the cores, and every run must
        # use the same thread count for bitwise equal sums.
        OMP_NUM_THREADS='1')
    log_file = open(log_path, 'w')
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT)
    process.log_file = log_file
    return process


def finish(process, log_path, timeout=300):
    try:
        returncode = process.wait(timeout=timeout)
    finally:
        process.log_file.close()
    log = Path(log_path).read_text()
    assert returncode == 0, log[-3000:]
    return log


def read_scalars(work_dir, run_dir=None):
    """Return the complete records of a run's ``vis_data/scalars.json``."""
    if run_dir is None:
        found = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
        if not found:
            return []
        path = found[-1]
    else:
        path = Path(run_dir) / 'vis_data' / 'scalars.json'
        if not path.is_file():
            return []
    records = []
    for line in path.read_text().splitlines(keepends=True):
        if line.endswith('\n'):
            records.append(json.loads(line))
    return records


def losses_by_iter(records):
    return {
        record['iter']: {term: record[term]
                         for term in LOSS_TERMS}
        for record in records if 'loss_sim' in record
    }


def kill_in_epoch_2(process, work_dir, timeout=240):
    """SIGKILL the run once it has logged an iteration of epoch 2."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, 'run B ended before it was killed'
        epochs = [record.get('epoch') for record in read_scalars(work_dir)]
        if 2 in epochs and (work_dir / 'epoch_1.pth').is_file():
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.log_file.close()
            return
        time.sleep(0.05)
    process.kill()
    pytest.fail(f'run B logged no iteration of epoch 2 in {timeout} s')


def new_run_dir(work_dir, known):
    created = [
        path for path in Path(work_dir).iterdir()
        if path.is_dir() and path.name not in known
    ]
    assert len(created) == 1, created
    return created[0]


def assert_nested_equal(first, second, where):
    if isinstance(first, torch.Tensor):
        assert torch.equal(first, second), where
    elif isinstance(first, dict):
        assert first.keys() == second.keys(), where
        for key in first:
            assert_nested_equal(first[key], second[key], f'{where}.{key}')
    elif isinstance(first, (list, tuple)):
        assert len(first) == len(second), where
        for index, (a, b) in enumerate(zip(first, second)):
            assert_nested_equal(a, b, f'{where}[{index}]')
    else:
        assert first == second, where


def test_sigkill_resume_repeats_run(tmp_path):
    config = tmp_path / 'tiny_simfle.py'
    config.write_text(TINY_CONFIG)
    config_without_hook = tmp_path / 'tiny_simfle_without_hook.py'
    config_without_hook.write_text(TINY_CONFIG + WITHOUT_HOOK)
    work_a = tmp_path / 'uninterrupted'
    work_b = tmp_path / 'killed'
    work_c = tmp_path / 'without_hook'

    # Runs A and B start together; B is killed inside epoch 2.
    run_a = start(
        train_command(config, work_a, tmp_path), tmp_path, tmp_path / 'a.log')
    run_b = start(
        train_command(config, work_b, tmp_path), tmp_path, tmp_path / 'b.log')
    kill_in_epoch_2(run_b, work_b)
    assert (work_b / 'epoch_1.pth').is_file()
    assert not (work_b / 'epoch_2.pth').exists(), 'killed after epoch 2'
    killed_losses = losses_by_iter(read_scalars(work_b))
    assert ITERS_PER_EPOCH + 1 in killed_losses

    # B resumes from its last checkpoint while C resumes the same one
    # without the hook.
    work_c.mkdir()
    shutil.copy(work_b / 'epoch_1.pth', work_c / 'epoch_1.pth')
    known_b = {path.name for path in work_b.iterdir()}
    resumed = start(
        train_command(config, work_b, tmp_path, '--resume'), tmp_path,
        tmp_path / 'resumed.log')
    without_hook = start(
        train_command(config_without_hook, work_c, tmp_path, '--resume',
                      str(work_c / 'epoch_1.pth'), '--cfg-options',
                      'train_cfg.max_epochs=2'), tmp_path,
        tmp_path / 'without_hook.log')
    finish(run_a, tmp_path / 'a.log')
    resumed_log = finish(resumed, tmp_path / 'resumed.log')
    finish(without_hook, tmp_path / 'without_hook.log')

    assert f'resumed epoch: 1, iter: {ITERS_PER_EPOCH}' in resumed_log
    assert ('restored the random state saved at iteration '
            f'{ITERS_PER_EPOCH}') in resumed_log

    # The losses after resuming equal run A's at the same iterations, and
    # so do the losses that run B logged before it was killed.
    expected = losses_by_iter(read_scalars(work_a))
    assert sorted(expected) == list(
        range(1, MAX_EPOCHS * ITERS_PER_EPOCH + 1))
    after_resume = losses_by_iter(
        read_scalars(work_b, new_run_dir(work_b, known_b)))
    assert sorted(after_resume) == list(
        range(ITERS_PER_EPOCH + 1, MAX_EPOCHS * ITERS_PER_EPOCH + 1))
    for step, losses in after_resume.items():
        for term in LOSS_TERMS:
            assert losses[term] == pytest.approx(
                expected[step][term], rel=1e-6, abs=1e-7), (step, term)
    for step, losses in killed_losses.items():
        for term in LOSS_TERMS:
            assert losses[term] == pytest.approx(
                expected[step][term], rel=1e-6, abs=1e-7), (step, term)

    # The final checkpoints hold the same online and target weights,
    # optimizer and scheduler states, and random states.
    final_a = torch.load(
        work_a / f'epoch_{MAX_EPOCHS}.pth', weights_only=False)
    final_b = torch.load(
        work_b / f'epoch_{MAX_EPOCHS}.pth', weights_only=False)
    state_a, state_b = final_a['state_dict'], final_b['state_dict']
    assert any(key.startswith('target_net.') for key in state_a)
    assert any(key.startswith('backbone.') for key in state_a)
    assert_nested_equal(state_a, state_b, 'state_dict')
    assert final_a['optimizer']['state'], 'optimizer state was not saved'
    assert_nested_equal(final_a['optimizer'], final_b['optimizer'],
                        'optimizer')
    assert_nested_equal(final_a['param_schedulers'],
                        final_b['param_schedulers'], 'param_schedulers')
    assert_nested_equal(final_a['random_state'], final_b['random_state'],
                        'random_state')

    # Without the hook epoch 2 draws other augmentations and mask groups.
    without_hook_losses = losses_by_iter(read_scalars(work_c))
    assert sorted(without_hook_losses) == list(
        range(ITERS_PER_EPOCH + 1, 2 * ITERS_PER_EPOCH + 1))
    differences = [
        abs(without_hook_losses[step]['loss_sim'] -
            expected[step]['loss_sim']) for step in without_hook_losses
    ]
    assert max(differences) > 1e-3, differences
