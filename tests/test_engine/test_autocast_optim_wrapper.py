# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""AutocastOptimWrapper: bfloat16 autocast training of SimFLE on the CPU."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODELS, OPTIM_WRAPPERS

from conftest import CPU_CONFIG, tiny_simfle_cfg
from mmsimfle.engine.optimizers import AutocastOptimWrapper
from mmsimfle.tools.train import set_amp_optim_wrapper

LOSS_KEYS = ('loss_sim', 'loss_rec', 'loss_kd', 'loss_group')


def build_model():
    torch.manual_seed(0)
    model = MODELS.build(tiny_simfle_cfg())
    model.init_weights()
    return model.train()


def batch(size: int = 4):
    generator = torch.Generator().manual_seed(1)
    return dict(
        inputs=[
            torch.randint(
                0, 256, (size, 3, 32, 32),
                dtype=torch.uint8,
                generator=generator) for _ in range(3)
        ],
        data_samples=None)


def sgd_wrapper(model, wrapper_type=AutocastOptimWrapper, **kwargs):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return wrapper_type(optimizer, **kwargs)


def output_dtypes(model, wrapper):
    """Run the loss forward under the wrapper; return losses and dtypes."""
    dtypes = {}

    def record(name):

        def hook(module, args, output):
            if isinstance(output, torch.Tensor):
                dtypes[name] = output.dtype

        return hook

    handles = [
        module.register_forward_hook(record(name))
        for name, module in model.named_modules()
        if isinstance(module, (nn.Conv2d, nn.Linear))
    ]
    torch.manual_seed(2)  # the mask generator draws its groups
    with wrapper.optim_context(model):
        data = model.data_preprocessor(batch(), True)
        losses = model(**data, mode='loss')
    for handle in handles:
        handle.remove()
    return losses, dtypes


def test_forward_runs_in_bfloat16():
    model = build_model()
    losses, dtypes = output_dtypes(model, sgd_wrapper(model))

    assert dtypes['backbone.conv1'] == torch.bfloat16
    assert dtypes['neck.fc0'] == torch.bfloat16
    assert dtypes['facemae_neck.encoder.layers.0.attn.qkv'] == torch.bfloat16
    assert sorted(losses) == sorted(LOSS_KEYS)
    for name, value in losses.items():
        assert torch.isfinite(value).all(), name
    # Parameters stay in float32 under autocast.
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_losses_close_to_float32():
    model = build_model()
    reference = copy.deepcopy(model)
    losses, _ = output_dtypes(model, sgd_wrapper(model))
    expected, dtypes = output_dtypes(
        reference, sgd_wrapper(reference, wrapper_type=OptimWrapper))

    assert dtypes['backbone.conv1'] == torch.float32
    for name in LOSS_KEYS:
        # bfloat16 keeps 8 bits of mantissa, about 0.4 % per rounding.
        assert losses[name].item() == pytest.approx(
            expected[name].item(), rel=0.05, abs=1e-3), name


def test_train_step_updates_float32_parameters():
    model = build_model()
    wrapper = sgd_wrapper(model)
    before = {
        name: param.detach().clone()
        for name, param in model.named_parameters()
    }

    torch.manual_seed(3)
    log_vars = model.train_step(batch(), wrapper)

    for name in LOSS_KEYS:
        assert torch.isfinite(log_vars[name]), name
    changed = [
        name for name, param in model.named_parameters()
        if not torch.equal(param, before[name])
    ]
    assert 'backbone.conv1.weight' in changed
    assert 'facemae_neck.encoder.patch_embed.projection.weight' in changed
    for param in model.parameters():
        assert param.dtype == torch.float32
        assert torch.isfinite(param).all()
    momentum = wrapper.optimizer.state[model.backbone.conv1.weight]
    assert momentum['momentum_buffer'].dtype == torch.float32


def test_registered_and_built_from_config():
    model = build_model()
    wrapper = OPTIM_WRAPPERS.build(
        dict(
            type='AutocastOptimWrapper',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    assert isinstance(wrapper, AutocastOptimWrapper)
    assert wrapper.cast_dtype == torch.bfloat16


@pytest.mark.parametrize('dtype', ['float32', 'float64', 'int8'])
def test_invalid_dtype_rejected(dtype):
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match=f"dtype='{dtype}' is invalid"):
        sgd_wrapper(model, dtype=dtype)


def test_float16_dtype_accepted():
    model = nn.Linear(2, 2)
    assert sgd_wrapper(
        model, dtype=torch.float16).cast_dtype == torch.float16


def test_amp_loss_scaler_state_ignored():
    model = nn.Linear(2, 2)
    wrapper = sgd_wrapper(model)
    state = wrapper.state_dict()
    state['loss_scaler'] = {'scale': 65536.0}
    wrapper.load_state_dict(state)
    assert 'loss_scaler' not in wrapper.state_dict()


def test_amp_option_picks_wrapper_by_device():
    cfg = Config.fromfile(str(CPU_CONFIG))
    set_amp_optim_wrapper(cfg, device='cpu')
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert 'loss_scale' not in cfg.optim_wrapper

    cfg = Config.fromfile(str(CPU_CONFIG))
    set_amp_optim_wrapper(cfg, device='cuda')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_amp_config_converted_on_cpu():
    cfg = Config.fromfile(str(CPU_CONFIG))
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 512.0
    set_amp_optim_wrapper(cfg, device='cpu')
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper


def test_amp_keeps_configured_autocast_wrapper():
    cfg = Config.fromfile(str(CPU_CONFIG))
    cfg.optim_wrapper.type = 'AutocastOptimWrapper'
    cfg.optim_wrapper.dtype = 'float16'
    set_amp_optim_wrapper(cfg, device='cuda')
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'float16'
    assert 'loss_scale' not in cfg.optim_wrapper


def test_amp_option_rejects_other_wrappers():
    cfg = Config.fromfile(str(CPU_CONFIG))
    cfg.optim_wrapper.type = 'OptimWrapperDict'
    with pytest.raises(ValueError, match="'OptimWrapperDict'"):
        set_amp_optim_wrapper(cfg, device='cpu')
