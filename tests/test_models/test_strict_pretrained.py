# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import pytest
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from conftest import tiny_simfle_cfg
from mmsimfle.tools.convert_backbone import main as convert_main


def randomize(backbone: nn.Module, seed: int) -> None:
    """Give convolutions and BN layers random, non-default values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in backbone.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.normal_(0, 0.05, generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0, 0.1, generator=generator)
                module.running_mean.normal_(0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 2.0, generator=generator)
                module.num_batches_tracked.fill_(seed)


@pytest.fixture(scope='module', params=[18, 50])
def simfle_checkpoint(request, tmp_path_factory):
    """Return (depth, SimFLE model, path of its mmengine-style checkpoint)."""
    depth = request.param
    model = MODELS.build(tiny_simfle_cfg(depth=depth))
    randomize(model.backbone, seed=depth)
    randomize(model.target_net.module[0], seed=depth + 1)
    path = tmp_path_factory.mktemp(f'r{depth}') / 'simfle.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return depth, model.eval(), path


def build_resnet(depth: int, checkpoint, prefix=None) -> nn.Module:
    """Build mmpretrain's default ResNet and run its init_weights."""
    backbone = MODELS.build(
        dict(
            type='ResNet',
            depth=depth,
            init_cfg=dict(
                type='StrictPretrained',
                checkpoint=str(checkpoint),
                prefix=prefix)))
    backbone.init_weights()
    return backbone


@torch.no_grad()
def feature_map(backbone: nn.Module) -> torch.Tensor:
    # mmpretrain's ResNet.train() returns None, so eval() cannot be chained.
    backbone.eval()
    inputs = torch.randn(
        1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    return backbone(inputs)[-1]


def test_loads_simfle_backbone(simfle_checkpoint):
    depth, model, path = simfle_checkpoint

    # The default ResNet has zero_init_residual=True, which must not
    # overwrite the loaded BN weights.
    backbone = build_resnet(depth, path, prefix='backbone.')

    expected = model.backbone.state_dict()
    for name, value in backbone.state_dict().items():
        assert torch.equal(value, expected[name]), name
    torch.testing.assert_close(
        feature_map(backbone),
        feature_map(model.backbone),
        rtol=1e-5,
        atol=1e-5)


def test_prefix_without_dot_and_target(simfle_checkpoint):
    depth, model, path = simfle_checkpoint

    backbone = build_resnet(depth, path, prefix='target_net.module.0')

    torch.testing.assert_close(
        feature_map(backbone),
        feature_map(model.target_net.module[0]),
        rtol=1e-5,
        atol=1e-5)


def test_loads_converted_backbone(simfle_checkpoint, tmp_path):
    depth, model, path = simfle_checkpoint
    converted = tmp_path / 'backbone.pth'
    convert_main([str(path), str(converted), '--format', 'mmpretrain'])

    backbone = build_resnet(depth, converted, prefix=None)

    torch.testing.assert_close(
        feature_map(backbone),
        feature_map(model.backbone),
        rtol=1e-5,
        atol=1e-5)


def test_wrong_prefix_raises(simfle_checkpoint):
    depth, _, path = simfle_checkpoint

    with pytest.raises(ValueError) as error:
        build_resnet(depth, path, prefix='model.backbone.')

    message = str(error.value)
    assert str(path) in message
    assert "prefix 'model.backbone.'" in message
    assert 'start with: backbone., facemae_neck.' in message
    assert 'target_net.' in message
    assert "Use prefix='backbone.'" in message


def test_simfle_checkpoint_without_prefix_raises(simfle_checkpoint):
    depth, _, path = simfle_checkpoint

    with pytest.raises(ValueError) as error:
        build_resnet(depth, path, prefix=None)

    message = str(error.value)
    assert 'with prefix None does not match ResNet' in message
    assert 'missing keys' in message
    assert 'unexpected keys' in message
    assert "Use prefix='backbone.'" in message


def test_depth_mismatch_raises(tmp_path):
    model = MODELS.build(tiny_simfle_cfg(depth=18))
    path = tmp_path / 'simfle_r18.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    backbone = MODELS.build(
        dict(
            type='ResNet',
            depth=50,
            init_cfg=dict(
                type='StrictPretrained',
                checkpoint=str(path),
                prefix='backbone.')))
    before = {
        name: value.clone()
        for name, value in backbone.state_dict().items()
    }

    with pytest.raises(ValueError) as error:
        backbone.init_weights()

    message = str(error.value)
    assert f"checkpoint '{path}'" in message
    assert "prefix 'backbone.'" in message
    assert '(318 module keys, 120 checkpoint keys)' in message
    # Counts of mmpretrain 1.2.0's ResNet-50 keys (num_batches_tracked
    # excluded) absent from ResNet-18, and of shared keys with other shapes.
    assert '165 missing keys (in the module, not in the checkpoint)' in message
    assert 'layer1.0.conv3.weight' in message
    assert '23 shape mismatches (checkpoint != module)' in message
    assert 'layer1.0.conv1.weight (64, 64, 3, 3) != (64, 64, 1, 1)' in message
    # Nothing is loaded when the check fails.
    for name, value in backbone.state_dict().items():
        assert torch.equal(value, before[name]), name
