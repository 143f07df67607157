# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""RandomStateHook on its own; tests/test_tools/test_kill_resume.py trains."""
import io
import random
from types import SimpleNamespace

import numpy as np
import torch

from mmsimfle.engine.hooks import (RandomStateHook, capture_random_state,
                                   restore_random_state)


class RecordingLogger:

    def __init__(self):
        self.warnings = []
        self.infos = []

    def warning(self, message):
        self.warnings.append(message)

    def info(self, message):
        self.infos.append(message)


def fake_runner(iteration=4, num_workers=0, persistent_workers=False):
    return SimpleNamespace(
        iter=iteration,
        logger=RecordingLogger(),
        train_dataloader=SimpleNamespace(
            num_workers=num_workers, persistent_workers=persistent_workers))


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def draw():
    return (random.random(), float(np.random.rand()),
            float(torch.rand(())), int(torch.randint(0, 32, ())))


def saved_checkpoint(iteration=4):
    runner = fake_runner(iteration)
    checkpoint = dict(meta=dict(epoch=1, iter=iteration))
    RandomStateHook().before_save_checkpoint(runner, checkpoint)
    return checkpoint


def test_capture_restore_round_trip():
    seed_all(1)
    state = capture_random_state()
    expected = draw()
    draw()

    restore_random_state(state)

    assert draw() == expected


def test_state_loads_with_weights_only():
    np.random.randn()  # a cached Gaussian is part of the NumPy state
    checkpoint = saved_checkpoint()
    expected = draw()
    buffer = io.BytesIO()
    torch.save(checkpoint['random_state'], buffer)
    buffer.seek(0)

    loaded = torch.load(buffer, weights_only=True)
    assert loaded['world_size'] == 1
    restore_random_state(loaded['states'][0])

    assert draw() == expected


def test_resume_restores_at_first_epoch():
    checkpoint = saved_checkpoint(iteration=4)
    expected = draw()
    hook = RandomStateHook()
    runner = fake_runner(iteration=4)

    hook.after_load_checkpoint(runner, checkpoint)
    seed_all(0)  # the Runner may seed again after loading
    hook.before_train_epoch(runner)

    assert draw() == expected
    assert runner.logger.infos == [
        'RandomStateHook: restored the random state saved at iteration 4.'
    ]
    assert runner.logger.warnings == []


def test_restores_only_once():
    checkpoint = saved_checkpoint(iteration=4)
    hook = RandomStateHook()
    runner = fake_runner(iteration=4)
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train_epoch(runner)
    after_first = draw()

    hook.before_train_epoch(runner)

    assert draw() != after_first


def test_load_from_does_not_restore():
    checkpoint = saved_checkpoint(iteration=4)
    seed_all(5)
    expected = draw()
    seed_all(5)
    hook = RandomStateHook()
    runner = fake_runner(iteration=0)

    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train_epoch(runner)

    assert draw() == expected
    assert runner.logger.infos == []
    assert runner.logger.warnings == []


def test_missing_state_warns():
    hook = RandomStateHook()
    runner = fake_runner(iteration=4)

    hook.after_load_checkpoint(runner, dict(meta=dict(epoch=1, iter=4)))
    hook.before_train_epoch(runner)

    assert len(runner.logger.warnings) == 1
    assert 'written without RandomStateHook' in runner.logger.warnings[0]


def test_other_world_size_warns():
    checkpoint = saved_checkpoint(iteration=4)
    checkpoint['random_state']['world_size'] = 2
    hook = RandomStateHook()
    runner = fake_runner(iteration=4)

    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train_epoch(runner)

    assert len(runner.logger.warnings) == 1
    assert 'written by 2 processes' in runner.logger.warnings[0]


def test_persistent_workers_warn():
    checkpoint = saved_checkpoint(iteration=4)
    hook = RandomStateHook()
    runner = fake_runner(iteration=4, num_workers=2, persistent_workers=True)

    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train_epoch(runner)

    assert len(runner.logger.warnings) == 1
    assert 'persistent_workers=False' in runner.logger.warnings[0]


def test_validation_leaves_training_stream():
    hook = RandomStateHook()
    runner = fake_runner()
    seed_all(3)
    expected = draw()
    seed_all(3)

    hook.before_val(runner)
    draw()  # validation draws random numbers
    # A best checkpoint saved during validation stores the state that
    # training continues from.
    checkpoint = dict(meta=dict(epoch=1, iter=4))
    hook.before_save_checkpoint(runner, checkpoint)
    hook.after_val(runner)

    assert draw() == expected
    restore_random_state(checkpoint['random_state']['states'][0])
    assert draw() == expected
