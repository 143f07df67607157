# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""NonFiniteLossHook in a real Runner: NaN losses injected into a tiny SimFLE.

Each run trains 2 epochs of 2 iterations of the CPU config shrunk to 32x32
pixels, on the LFW fallback faces, in this process.
"""
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.optim import AmpOptimWrapper
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS, MODELS

from conftest import CPU_CONFIG
from mmsimfle.engine.hooks import NonFiniteLossHook
from mmsimfle.models.algorithms.simfle import SimFLE

ITERS_PER_EPOCH = 2


@MODELS.register_module(force=True)
class NaNInjectingSimFLE(SimFLE):
    """SimFLE that adds NaN (or ``nan_value``) to a loss term at given calls.

    ``nan_term='face_view'`` adds it to the face images instead, so the
    BatchNorm statistics of the face pass become NaN as well.
    """

    def __init__(self,
                 nan_term: str,
                 nan_calls: list,
                 nan_value: float = float('nan'),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.nan_term = nan_term
        self.nan_calls = nan_calls
        self.nan_value = nan_value
        self.num_calls = 0

    def loss(self, inputs, data_samples, **kwargs):
        self.num_calls += 1
        inject = self.num_calls in self.nan_calls
        if inject and self.nan_term == 'face_view':
            inputs = [inputs[0], inputs[1], inputs[2] + self.nan_value]
        losses = super().loss(inputs, data_samples, **kwargs)
        if inject and self.nan_term != 'face_view':
            losses[self.nan_term] = losses[self.nan_term] + self.nan_value
        return losses


@HOOKS.register_module(force=True)
class StateAroundIterHook(Hook):
    """Copy the online parameters and buffers around one iteration."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration
        self.before = None
        self.after = None

    @staticmethod
    def online_state(runner):
        return {
            name: value.detach().clone()
            for name, value in runner.model.state_dict().items()
            if not name.startswith('target_net.')
        }

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.iteration:
            self.before = self.online_state(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.iteration:
            self.after = self.online_state(runner)


@HOOKS.register_module(force=True)
class PoisonWeightHook(Hook):
    """Write a NaN into ``backbone.conv1.weight`` after one iteration."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.iteration:
            with torch.no_grad():
                runner.model.backbone.conv1.weight[0, 0, 0, 0] = float('nan')


def tiny_runner_cfg(tmp_path, monkeypatch, custom_hooks, **model_overrides):
    """Return the CPU config shrunk to a few seconds of training."""
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    cfg = Config.fromfile(str(CPU_CONFIG))
    cfg.merge_from_dict(
        dict(
            model=dict(
                neck=dict(hid_channels=64, out_channels=16),
                head=dict(
                    predictor=dict(
                        in_channels=16, hid_channels=64, out_channels=16)),
                mask_generator=dict(num_groups=4, img_size=32),
                facemae_neck=dict(
                    img_size=32,
                    arch=dict(
                        embed_dims=32,
                        num_layers=2,
                        num_heads=2,
                        feedforward_channels=64),
                    decoder_embed_dim=32,
                    decoder_depth=1,
                    decoder_num_heads=2),
                gfl_distill_neck=dict(hid_channels=64, out_channels=16),
                ffl_distill_neck=dict(
                    in_channels=32, hid_channels=64, out_channels=16),
                **model_overrides),
            train_dataloader=dict(
                batch_size=4,
                num_workers=0,
                persistent_workers=False,
                dataset=dict(
                    indices=4 * ITERS_PER_EPOCH,
                    data_root=str(tmp_path / 'no_ferplus'))),
            train_cfg=dict(max_epochs=2),
            default_hooks=dict(logger=dict(interval=1)),
            randomness=dict(seed=0)))
    cfg.model.type = 'NaNInjectingSimFLE'
    cfg.train_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile', color_type='color'),
        dict(
            type='MultiView',
            num_views=[2, 1],
            transforms=[[dict(type='RandomResizedCrop', scale=32)],
                        [
                            dict(type='ResizeEdge', scale=32, edge='short'),
                            dict(type='CenterCrop', crop_size=32)
                        ]]),
        dict(type='PackInputs'),
    ]
    cfg.custom_hooks = custom_hooks
    cfg.work_dir = str(tmp_path / 'work')
    # Loggers and visualizers are looked up by name in this process.
    cfg.experiment_name = f'nonfinite_{tmp_path.name}'
    return cfg


def read_scalars(work_dir):
    path, = Path(work_dir).glob('*/vis_data/scalars.json')
    return [json.loads(line) for line in path.read_text().splitlines()]


def all_finite(tensors):
    return all(
        bool(torch.isfinite(value).all()) for value in tensors.values()
        if value.is_floating_point())


def test_nan_loss_raises_with_term_and_iteration(tmp_path, monkeypatch):
    cfg = tiny_runner_cfg(
        tmp_path,
        monkeypatch, [dict(type='NonFiniteLossHook')],
        nan_term='loss_rec',
        nan_calls=[3])
    runner = Runner.from_cfg(cfg)

    with pytest.raises(FloatingPointError) as error:
        runner.train()

    message = str(error.value)
    assert 'loss_rec=nan' in message
    assert 'iteration 3 (epoch 2, batch 1 of 2)' in message
    assert 'All parameters are finite.' in message
    for finite_term in ('loss_sim', 'loss_kd', 'loss_group'):
        assert finite_term not in message
    work_dir = Path(cfg.work_dir)
    assert (work_dir / 'epoch_1.pth').is_file()
    assert not (work_dir / 'epoch_2.pth').exists()
    # The NaN never reached the weights: the online parameters are still
    # those of the epoch 1 checkpoint.
    saved = torch.load(work_dir / 'epoch_1.pth', weights_only=False)
    for name, param in runner.model.named_parameters():
        if not name.startswith('target_net.'):
            assert torch.equal(param, saved['state_dict'][name]), name


def test_inf_loss_raises(tmp_path, monkeypatch):
    cfg = tiny_runner_cfg(
        tmp_path,
        monkeypatch, [dict(type='NonFiniteLossHook')],
        nan_term='loss_kd',
        nan_calls=[1],
        nan_value=float('inf'))
    runner = Runner.from_cfg(cfg)

    with pytest.raises(FloatingPointError, match=r'loss_kd=inf') as error:
        runner.train()
    assert 'iteration 1 (epoch 1, batch 1 of 2)' in str(error.value)
    assert not list(Path(cfg.work_dir).glob('*.pth'))


def test_skip_mode_skips_step_and_counts(tmp_path, monkeypatch):
    cfg = tiny_runner_cfg(
        tmp_path,
        monkeypatch, [
            dict(type='NonFiniteLossHook', action='skip'),
            dict(type='StateAroundIterHook', iteration=3),
        ],
        nan_term='face_view',
        nan_calls=[3])
    runner = Runner.from_cfg(cfg)
    runner.train()

    hook = next(h for h in runner.hooks if isinstance(h, StateAroundIterHook))
    # Iteration 3 changed no online parameter and no BatchNorm statistic.
    for name, value in hook.before.items():
        assert torch.equal(value, hook.after[name]), name

    work_dir = Path(cfg.work_dir)
    final = torch.load(work_dir / 'epoch_2.pth', weights_only=False)
    assert all_finite(final['state_dict'])
    assert final['optimizer']['state']
    for state in final['optimizer']['state'].values():
        assert all_finite(state)

    records = read_scalars(work_dir)
    assert [r['nonfinite_skips'] for r in records] == [0, 0, 1, 1]
    for record in records:
        for term in ('loss', 'loss_sim', 'loss_rec', 'loss_kd',
                     'loss_group'):
            assert math.isfinite(record[term]), (record['iter'], term)
            assert record[term] != 0.0, (record['iter'], term)
    nan_hook = next(
        h for h in runner.hooks if isinstance(h, NonFiniteLossHook))
    assert nan_hook.num_skipped == 1


def test_nan_weights_never_checkpointed(tmp_path, monkeypatch):
    cfg = tiny_runner_cfg(
        tmp_path,
        monkeypatch, [
            dict(type='PoisonWeightHook', iteration=2 * ITERS_PER_EPOCH),
            dict(type='NonFiniteLossHook'),
        ],
        nan_term='loss_rec',
        nan_calls=[])
    runner = Runner.from_cfg(cfg)

    with pytest.raises(
            FloatingPointError,
            match=r'end of epoch 2 .*backbone\.conv1\.weight'):
        runner.train()

    work_dir = Path(cfg.work_dir)
    assert (work_dir / 'epoch_1.pth').is_file()
    assert not (work_dir / 'epoch_2.pth').exists()


def test_checkpoint_with_nan_momentum_rejected():
    hook = NonFiniteLossHook()
    checkpoint = dict(
        state_dict={'backbone.conv1.weight': torch.ones(2)},
        optimizer=dict(state={
            0: dict(momentum_buffer=torch.tensor([1.0, float('inf')]))
        }))
    runner = SimpleNamespace(iter=7)

    with pytest.raises(
            FloatingPointError,
            match=r'iteration 7 .*optimizer\.state\.0\.momentum_buffer'):
        hook.before_save_checkpoint(runner, checkpoint)

    checkpoint['optimizer']['state'][0]['momentum_buffer'][1] = 0.0
    hook.before_save_checkpoint(runner, checkpoint)


def test_invalid_action_rejected():
    with pytest.raises(ValueError, match="action='ignore' is invalid"):
        NonFiniteLossHook(action='ignore')


def test_skip_with_amp_wrapper_rejected():
    hook = NonFiniteLossHook(action='skip')
    # AmpOptimWrapper cannot be built without a GPU; only its type matters.
    runner = SimpleNamespace(
        optim_wrapper=object.__new__(AmpOptimWrapper),
        model=torch.nn.Linear(1, 1))
    with pytest.raises(ValueError, match='AmpOptimWrapper'):
        hook.before_train(runner)
