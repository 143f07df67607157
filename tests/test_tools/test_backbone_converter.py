# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
import torchvision
from mmengine.runner import load_checkpoint
from mmpretrain.models.backbones import ResNet
from mmpretrain.registry import MODELS

from conftest import REPO_ROOT, tiny_simfle_cfg
from mmsimfle.tools.convert_backbone import (BackboneConversionError,
                                             convert_backbone, main, map_key,
                                             read_backbone_cfg)

SCRIPT = REPO_ROOT / 'tools' / 'model_converters' / 'simfle_to_backbone.py'


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


def make_simfle(depth: int) -> nn.Module:
    """Build a tiny SimFLE whose online and target backbones differ."""
    model = MODELS.build(tiny_simfle_cfg(depth=depth))
    randomize(model.backbone, seed=depth)
    randomize(model.target_net.module[0], seed=depth + 1)
    return model.eval()


@pytest.fixture(scope='module', params=[18, 50])
def simfle_checkpoint(request, tmp_path_factory):
    """Return (depth, SimFLE model, path of its mmengine-style checkpoint)."""
    depth = request.param
    model = make_simfle(depth)
    path = tmp_path_factory.mktemp(f'r{depth}') / 'simfle.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return depth, model, path


def sample_input() -> torch.Tensor:
    return torch.randn(
        1, 3, 64, 64, generator=torch.Generator().manual_seed(0))


@torch.no_grad()
def feature_map(backbone: nn.Module) -> torch.Tensor:
    # mmpretrain's ResNet.train() returns None, so eval() cannot be chained.
    backbone.eval()
    return backbone(sample_input())[-1]


def assert_same_features(actual, expected):
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def convert(source_path, output_path, *options):
    main([str(source_path), str(output_path), *options])
    return torch.load(output_path, weights_only=True)


def test_mmpretrain_format_features_match(simfle_checkpoint, tmp_path):
    depth, model, path = simfle_checkpoint
    output = convert(path, tmp_path / 'backbone.pth', '--format',
                     'mmpretrain')

    assert output['meta']['format'] == 'mmpretrain'
    assert output['meta']['depth'] == depth
    assert output['meta']['source'] == 'online'
    backbone = ResNet(depth=depth)
    backbone.load_state_dict(output['state_dict'], strict=True)
    assert_same_features(feature_map(backbone), feature_map(model.backbone))


def test_torchvision_format_features_match(simfle_checkpoint, tmp_path):
    depth, model, path = simfle_checkpoint
    state_dict = convert(path, tmp_path / 'backbone.pth', '--format',
                         'torchvision')

    assert not any(key.startswith('fc.') for key in state_dict)
    resnet = getattr(torchvision.models, f'resnet{depth}')()
    resnet.fc = nn.Identity()
    resnet.load_state_dict(state_dict, strict=True)
    with torch.no_grad():
        pooled = resnet.eval()(sample_input())
    expected = feature_map(model.backbone).mean(dim=(2, 3))
    assert_same_features(pooled, expected)


def test_target_source_gives_target_weights(simfle_checkpoint, tmp_path):
    depth, model, path = simfle_checkpoint
    output = convert(path, tmp_path / 'target.pth', '--source', 'target')

    backbone = ResNet(depth=depth)
    backbone.load_state_dict(output['state_dict'], strict=True)
    target = feature_map(model.target_net.module[0])
    assert output['meta']['prefix'] == 'target_net.module.0.'
    assert_same_features(feature_map(backbone), target)
    assert not torch.allclose(target, feature_map(model.backbone))


def test_output_loads_with_mmengine(simfle_checkpoint, tmp_path):
    depth, model, path = simfle_checkpoint
    output_path = tmp_path / 'backbone.pth'
    convert(path, output_path)
    expected = feature_map(model.backbone)

    loaded = ResNet(depth=depth)
    load_checkpoint(loaded, str(output_path), strict=True)
    assert_same_features(feature_map(loaded), expected)

    initialized = MODELS.build(
        dict(
            type='ResNet',
            depth=depth,
            init_cfg=dict(type='Pretrained', checkpoint=str(output_path))))
    initialized.init_weights()
    assert_same_features(feature_map(initialized), expected)


def test_plain_state_dict_input(tmp_path):
    model = make_simfle(18)
    path = tmp_path / 'plain.pth'
    torch.save(model.state_dict(), path)

    output = convert(path, tmp_path / 'backbone.pth')

    backbone = ResNet(depth=18)
    backbone.load_state_dict(output['state_dict'], strict=True)
    assert_same_features(feature_map(backbone), feature_map(model.backbone))


def test_missing_backbone_key_is_named():
    state_dict = make_simfle(18).state_dict()
    del state_dict['backbone.layer2.0.bn1.running_var']

    for output_format in ('mmpretrain', 'torchvision'):
        with pytest.raises(BackboneConversionError) as error:
            convert_backbone(state_dict, output_format)
        assert '1 missing keys' in str(error.value)
        assert 'layer2.0.bn1.running_var' in str(error.value)


def test_unmapped_backbone_key_is_named():
    state_dict = make_simfle(18).state_dict()
    state_dict['backbone.layer1.0.gn1.weight'] = torch.ones(64)

    with pytest.raises(BackboneConversionError) as error:
        convert_backbone(state_dict, 'torchvision')
    assert 'match no ResNet key rule' in str(error.value)
    assert 'backbone.layer1.0.gn1.weight' in str(error.value)


def test_shape_mismatch_is_named():
    state_dict = make_simfle(18).state_dict()
    state_dict['backbone.conv1.weight'] = torch.zeros(64, 3, 3, 3)

    with pytest.raises(BackboneConversionError) as error:
        convert_backbone(state_dict, 'torchvision')
    message = str(error.value)
    assert '1 shape mismatches' in message
    assert 'conv1.weight (64, 3, 3, 3) != (64, 3, 7, 7)' in message


def test_depth_option_must_match():
    state_dict = make_simfle(18).state_dict()

    _, depth = convert_backbone(state_dict, 'mmpretrain', depth=18)
    assert depth == 18
    with pytest.raises(BackboneConversionError, match='expected ResNet-50, '
                       'but the checkpoint contains ResNet-18'):
        convert_backbone(state_dict, 'mmpretrain', depth=50)


def test_unknown_prefix_lists_key_prefixes():
    state_dict = ResNet(depth=18).state_dict()

    with pytest.raises(BackboneConversionError) as error:
        convert_backbone(state_dict, 'mmpretrain')
    message = str(error.value)
    assert "no key starts with 'backbone.'" in message
    assert 'prefixes are: bn1., conv1., layer1.' in message
    assert 'is a backbone state dict already' in message


def test_caffe_style_rejected_for_torchvision():
    state_dict = make_simfle(18).state_dict()
    meta = {
        'cfg': "model = dict(\n    backbone=dict(\n        depth=18,\n"
        "        norm_cfg=dict(type='BN'),\n        style='caffe',\n"
        "        type='ResNet'),\n    type='SimFLE')\n"
    }
    backbone_cfg = read_backbone_cfg(meta)
    assert backbone_cfg == {'depth': 18, 'style': 'caffe', 'type': 'ResNet'}

    with pytest.raises(BackboneConversionError, match="style='caffe'"):
        convert_backbone(state_dict, 'torchvision', backbone_cfg=backbone_cfg)
    convert_backbone(state_dict, 'mmpretrain', backbone_cfg=backbone_cfg)


@pytest.mark.parametrize('key, expected', [
    ('conv1.weight', 'conv1.weight'),
    ('bn1.running_var', 'bn1.running_var'),
    ('layer3.5.conv3.weight', 'layer3.5.conv3.weight'),
    ('layer4.2.bn2.num_batches_tracked', 'layer4.2.bn2.num_batches_tracked'),
    ('layer1.0.downsample.0.weight', 'layer1.0.downsample.0.weight'),
    ('layer2.0.downsample.1.bias', 'layer2.0.downsample.1.bias'),
    ('layer1.0.downsample.2.weight', None),
    ('layer5.0.conv1.weight', None),
    ('stem.0.conv.weight', None),
    ('layer1.0.gn1.weight', None),
])
def test_key_rules(key, expected):
    assert map_key(key, 'torchvision') == expected
    assert map_key(key, 'mmpretrain') == expected


def test_output_must_differ_from_input(tmp_path):
    path = tmp_path / 'simfle.pth'
    torch.save(make_simfle(18).state_dict(), path)

    with pytest.raises(ValueError, match='is the input checkpoint'):
        main([str(path), str(path)])


def test_script_end_to_end(tmp_path):
    model = make_simfle(18)
    path = tmp_path / 'simfle.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    output_path = tmp_path / 'resnet18.pth'

    result = subprocess.run([
        sys.executable, str(SCRIPT), str(path), str(output_path),
        '--format', 'torchvision', '--source', 'target', '--depth', '18'
    ], cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert ('Wrote 120 tensors of the target ResNet-18 backbone in '
            f'torchvision format to {output_path}') in result.stdout
    resnet = torchvision.models.resnet18()
    resnet.fc = nn.Identity()
    resnet.load_state_dict(
        torch.load(output_path, weights_only=True), strict=True)
    with torch.no_grad():
        pooled = resnet.eval()(sample_input())
    expected = feature_map(model.target_net.module[0]).mean(dim=(2, 3))
    assert_same_features(pooled, expected)
