# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Convert the ResNet backbone of a SimFLE checkpoint for downstream use.

Two output formats:

* ``mmpretrain``: keys of mmpretrain's ``ResNet`` (the SimFLE key without
  ``backbone.``), saved as ``{'state_dict': ..., 'meta': ...}`` so that
  ``init_cfg=dict(type='Pretrained', checkpoint=...)``, ``StrictPretrained``
  and ``mmengine.runner.load_checkpoint`` accept it.
* ``torchvision``: keys of ``torchvision.models.resnet{18,34,50,101,152}``
  without the ``fc.`` classifier, saved as a plain state dict for
  ``model.load_state_dict(..., strict=False)`` or a model whose ``fc`` is
  replaced by ``nn.Identity()``.

Keys are mapped by name through ``KEY_RULES``. Every backbone key must match
a rule, and the result must have exactly the keys and shapes of the target
model, otherwise ``BackboneConversionError`` lists the offending keys.

NOTE: structural settings that leave the keys and shapes unchanged
(``style='caffe'``, ``strides``, ``dilations``) can only be checked when the
checkpoint's ``meta`` contains the training config, as mmengine's Runner
saves it. Plain state dicts are converted without that check.

Run as ``python tools/model_converters/simfle_to_backbone.py`` or
``python -m mmsimfle.tools.convert_backbone``.
"""
import argparse
import ast
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.runner import CheckpointLoader

from mmsimfle.models.utils.strict_pretrained import format_key_list

# The source networks inside a SimFLE model and their key prefixes. The
# target network is ``TargetNetworkEMA(nn.Sequential(backbone, neck))``.
SOURCE_PREFIXES = {
    'online': 'backbone.',
    'target': 'target_net.module.0.',
}
FORMATS = ('mmpretrain', 'torchvision')

# Block type and blocks per stage of each ResNet depth, as in mmpretrain's
# ResNet.arch_settings and torchvision's resnet builders.
RESNET_ARCHS = {
    18: ('BasicBlock', (2, 2, 2, 2)),
    34: ('BasicBlock', (3, 4, 6, 3)),
    50: ('Bottleneck', (3, 4, 6, 3)),
    101: ('Bottleneck', (3, 4, 23, 3)),
    152: ('Bottleneck', (3, 8, 36, 3)),
}

_BN = r'(weight|bias|running_mean|running_var|num_batches_tracked)'
_BLOCK = r'layer([1-4])\.(\d+)\.'

# Name rules from an mmpretrain ResNet key (without ``backbone.``) to each
# output format: (pattern matched against the whole key, mmpretrain
# template, torchvision template). mmcv names a BN layer ``bn<i>``, like
# torchvision does, so both templates are equal for BN backbones. Other
# norm layers (``gn1``) and other stems or blocks match no rule.
KEY_RULES: Tuple[Tuple[str, str, str], ...] = (
    # Stem: 7x7 convolution and its BN.
    (r'conv1\.weight', 'conv1.weight', 'conv1.weight'),
    (rf'bn1\.{_BN}', r'bn1.\1', r'bn1.\1'),
    # Residual blocks: conv1..conv2 (BasicBlock) or conv1..conv3
    # (Bottleneck), each followed by bn1..bn3.
    (rf'{_BLOCK}conv([1-3])\.weight', r'layer\1.\2.conv\3.weight',
     r'layer\1.\2.conv\3.weight'),
    (rf'{_BLOCK}bn([1-3])\.{_BN}', r'layer\1.\2.bn\3.\4',
     r'layer\1.\2.bn\3.\4'),
    # Projection shortcut of the first block of a stage: 1x1 conv, BN.
    (rf'{_BLOCK}downsample\.0\.weight', r'layer\1.\2.downsample.0.weight',
     r'layer\1.\2.downsample.0.weight'),
    (rf'{_BLOCK}downsample\.1\.{_BN}', r'layer\1.\2.downsample.1.\3',
     r'layer\1.\2.downsample.1.\3'),
)
_COMPILED_RULES = tuple((re.compile(pattern), templates)
                        for pattern, *templates in KEY_RULES)

# Settings of mmpretrain's ResNet that change the forward pass but no key or
# shape, with their defaults. torchvision's resnet has only the defaults.
_STRUCTURAL_DEFAULTS = {
    'style': 'pytorch',
    'strides': (1, 2, 2, 2),
    'dilations': (1, 1, 1, 1),
}

class BackboneConversionError(ValueError):
    """A checkpoint that cannot be converted to the requested backbone."""


def load_checkpoint_file(path: str) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Load a checkpoint and return its state dict and its ``meta``.

    Accepts an mmengine checkpoint (``{'state_dict': ..., 'meta': ...}``)
    or a plain state dict. The file is loaded on the CPU through mmengine's
    ``CheckpointLoader``, which mmsimfle makes unpickle the whole file (see
    ``mmsimfle.engine.checkpoint_loader``): convert only trusted files.
    """
    checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    if not isinstance(checkpoint, dict):
        raise BackboneConversionError(
            f'{path!r} contains a {type(checkpoint).__name__}, expected an '
            'mmengine checkpoint or a state dict')
    if 'state_dict' in checkpoint:
        return checkpoint['state_dict'], checkpoint.get('meta') or {}
    return checkpoint, {}


def extract_backbone(state_dict: Dict[str, torch.Tensor],
                     prefix: str) -> 'OrderedDict[str, torch.Tensor]':
    """Return the entries under ``prefix`` with the prefix removed."""
    backbone = OrderedDict((key[len(prefix):], value)
                           for key, value in state_dict.items()
                           if key.startswith(prefix))
    if not backbone:
        top_level_prefixes = sorted(
            {key.split('.', 1)[0] + '.'
             for key in state_dict}) or ['none (empty state dict)']
        message = (f'no key starts with {prefix!r}. The top-level key '
                   f'prefixes are: {", ".join(top_level_prefixes)}.')
        if 'conv1.weight' in state_dict:
            # Both output formats use the mmpretrain ResNet key names.
            message += (' The file is a backbone state dict already, which '
                        'loads into mmpretrain ResNet and torchvision resnet '
                        'as it is.')
        raise BackboneConversionError(message)
    return backbone


def detect_depth(backbone: Dict[str, torch.Tensor]) -> int:
    """Detect the ResNet depth from the block type and blocks per stage."""
    blocks: Dict[int, set] = {stage: set() for stage in range(1, 5)}
    for key in backbone:
        match = re.match(_BLOCK, key)
        if match:
            blocks[int(match.group(1))].add(int(match.group(2)))
    counts = tuple(len(blocks[stage]) for stage in range(1, 5))
    block = 'Bottleneck' if 'layer1.0.conv3.weight' in backbone \
        else 'BasicBlock'

    for depth, arch in RESNET_ARCHS.items():
        if arch == (block, counts):
            return depth
    raise BackboneConversionError(
        f'the backbone has {counts} {block} blocks in layer1..layer4, which '
        f'matches no ResNet depth in {sorted(RESNET_ARCHS)}')


def map_key(key: str, output_format: str) -> Optional[str]:
    """Return the name of ``key`` in ``output_format``, None if no rule."""
    template_index = FORMATS.index(output_format)
    for pattern, templates in _COMPILED_RULES:
        match = pattern.fullmatch(key)
        if match:
            return match.expand(templates[template_index])
    return None


def reference_state_dict(output_format: str,
                         depth: int) -> Dict[str, torch.Tensor]:
    """Return the state dict that the converted backbone must match."""
    if output_format == 'torchvision':
        import torchvision

        # Shapes only: the meta device allocates no memory.
        with torch.device('meta'):
            model = getattr(torchvision.models, f'resnet{depth}')()
        return {
            key: value
            for key, value in model.state_dict().items()
            if not key.startswith('fc.')
        }
    from mmpretrain.models.backbones import ResNet

    # mmpretrain's ResNet calls Tensor.item() in __init__, which the meta
    # device rejects, so it is built on the CPU.
    return ResNet(depth=depth).state_dict()


def check_against_reference(converted: Dict[str, torch.Tensor],
                            reference: Dict[str, torch.Tensor],
                            target_name: str) -> None:
    """Raise unless ``converted`` has the keys and shapes of ``reference``."""
    missing = [key for key in reference if key not in converted]
    unexpected = [key for key in converted if key not in reference]
    mismatched = [
        f'{key} {tuple(value.shape)} != {tuple(reference[key].shape)}'
        for key, value in converted.items()
        if key in reference and value.shape != reference[key].shape
    ]
    problems = []
    if missing:
        problems.append(
            f'{len(missing)} missing keys: {format_key_list(missing)}.')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected keys: '
                        f'{format_key_list(unexpected)}.')
    if mismatched:
        problems.append(f'{len(mismatched)} shape mismatches (converted != '
                        f'{target_name}): {format_key_list(mismatched)}.')
    if problems:
        raise BackboneConversionError(
            f'the converted backbone does not match {target_name}. ' +
            ' '.join(problems))


def read_backbone_cfg(meta: dict) -> dict:
    """Return the literal settings of ``model.backbone`` in ``meta['cfg']``.

    mmengine's Runner stores the config text in the checkpoint meta. It is
    parsed without being run, and settings that are not literals are left
    out.
    Returns an empty dict when the meta has no parsable config.
    """
    cfg_text = meta.get('cfg')
    if not isinstance(cfg_text, str):
        return {}
    try:
        tree = ast.parse(cfg_text)
    except SyntaxError:
        return {}

    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == 'model'
                and isinstance(node.value, ast.Call)):
            continue
        for keyword in node.value.keywords:
            if keyword.arg == 'backbone' and isinstance(
                    keyword.value, ast.Call):
                return _literal_keywords(keyword.value)
    return {}


def _literal_keywords(call: ast.Call) -> dict:
    settings = {}
    for keyword in call.keywords:
        try:
            settings[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            continue
    return settings


def find_structural_settings(backbone_cfg: dict) -> List[str]:
    """List the settings in ``_STRUCTURAL_DEFAULTS`` that differ from them.

    Each entry reads like ``"style='caffe'"``.
    """
    settings = []
    for name, default in _STRUCTURAL_DEFAULTS.items():
        value = backbone_cfg.get(name, default)
        if isinstance(value, list):
            value = tuple(value)
        if value != default:
            settings.append(f'{name}={value!r}')
    return settings


def convert_backbone(state_dict: Dict[str, torch.Tensor],
                     output_format: str,
                     source: str = 'online',
                     depth: Optional[int] = None,
                     backbone_cfg: Optional[dict] = None):
    """Convert the SimFLE backbone in ``state_dict`` to ``output_format``.

    Args:
        state_dict (dict): State dict of a SimFLE model.
        output_format (str): 'mmpretrain' or 'torchvision'.
        source (str): 'online' (``backbone.``) or 'target'
            (``target_net.module.0.``). Defaults to 'online'.
        depth (int, optional): Expected depth. The conversion raises when
            the checkpoint has another depth. Defaults to detection.
        backbone_cfg (dict, optional): ``model.backbone`` settings of the
            training config, from ``read_backbone_cfg``.

    Returns:
        tuple: The converted state dict and the detected depth.

    Raises:
        BackboneConversionError: The prefix matches no key, a key matches no
            rule, or the result differs from the target model in keys or
            shapes.
    """
    if output_format not in FORMATS:
        raise ValueError(
            f'invalid format {output_format!r}, expected one of {FORMATS}')
    if source not in SOURCE_PREFIXES:
        raise ValueError(f'invalid source {source!r}, expected one of '
                         f'{tuple(SOURCE_PREFIXES)}')
    structural = find_structural_settings(backbone_cfg or {})
    if output_format == 'torchvision' and structural:
        raise BackboneConversionError(
            'the checkpoint was trained with ResNet settings that '
            "torchvision's resnet does not have: " + ', '.join(structural) +
            '. Convert with --format mmpretrain and build mmpretrain ResNet '
            'with the same settings.')

    prefix = SOURCE_PREFIXES[source]
    backbone = extract_backbone(state_dict, prefix)

    converted = OrderedDict()
    unmapped = []
    for key, value in backbone.items():
        new_key = map_key(key, output_format)
        if new_key is None:
            unmapped.append(prefix + key)
        else:
            converted[new_key] = value
    if unmapped:
        raise BackboneConversionError(
            f'{len(unmapped)} backbone keys match no ResNet key rule: '
            f'{format_key_list(unmapped)}. Only mmpretrain ResNet backbones '
            "with BN layers (type='ResNet', not ResNetV1c, ResNetV1d, "
            'ResNeXt or SEResNet) can be converted.')

    detected = detect_depth(backbone)
    if depth is not None and depth != detected:
        raise BackboneConversionError(
            f'expected ResNet-{depth}, but the checkpoint contains '
            f'ResNet-{detected}')
    target_name = ('mmpretrain ResNet' if output_format == 'mmpretrain' else
                   'torchvision resnet') + f'{detected}'
    check_against_reference(converted,
                            reference_state_dict(output_format, detected),
                            target_name)
    return converted, detected


def save_backbone(converted: Dict[str, torch.Tensor], output_path: str,
                  output_format: str, meta: dict) -> None:
    """Save ``converted`` as an mmengine checkpoint or a plain state dict."""
    dirname = osp.dirname(osp.abspath(output_path))
    if not osp.isdir(dirname):
        raise FileNotFoundError(f'output folder {dirname!r} not found')
    if output_format == 'mmpretrain':
        torch.save({'state_dict': converted, 'meta': meta}, output_path)
    else:
        torch.save(converted, output_path)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line of the converter."""
    parser = argparse.ArgumentParser(
        description='Convert the ResNet backbone of a SimFLE checkpoint to '
        'an mmpretrain or torchvision checkpoint.')
    parser.add_argument('input', help='SimFLE checkpoint or state dict')
    parser.add_argument('output', help='file to write the backbone to')
    parser.add_argument(
        '--format',
        choices=FORMATS,
        default='mmpretrain',
        help='mmpretrain writes the keys of mmpretrain ResNet in an mmengine '
        'checkpoint, torchvision writes the keys of torchvision resnet '
        'without fc as a plain state dict (default: mmpretrain)')
    parser.add_argument(
        '--source',
        choices=tuple(SOURCE_PREFIXES),
        default='online',
        help="network to take the backbone from: online ('backbone.') or "
        "the EMA target ('target_net.module.0.') (default: online)")
    parser.add_argument(
        '--depth',
        type=int,
        choices=sorted(RESNET_ARCHS),
        help='expected ResNet depth. The conversion fails when the '
        'checkpoint has another depth (default: detect it from the keys)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the converter and return the meta of the written file."""
    args = parse_args(argv)
    if not osp.isfile(args.input):
        raise FileNotFoundError(f'checkpoint {args.input!r} not found')
    if osp.exists(args.output) and osp.samefile(args.input, args.output):
        raise ValueError(
            f'output {args.output!r} is the input checkpoint. Choose another '
            'output file.')

    state_dict, checkpoint_meta = load_checkpoint_file(args.input)
    backbone_cfg = read_backbone_cfg(checkpoint_meta)
    converted, depth = convert_backbone(
        state_dict,
        args.format,
        source=args.source,
        depth=args.depth,
        backbone_cfg=backbone_cfg)

    meta = {
        'source': args.source,
        'prefix': SOURCE_PREFIXES[args.source],
        'checkpoint': args.input,
        'format': args.format,
        'depth': depth,
    }
    if backbone_cfg:
        meta['backbone_cfg'] = backbone_cfg
    save_backbone(converted, args.output, args.format, meta)
    print(f'Wrote {len(converted)} tensors of the {args.source} ResNet-'
          f'{depth} backbone in {args.format} format to {args.output}')
    structural = find_structural_settings(backbone_cfg)
    if structural:
        print('Build mmpretrain ResNet with the training settings '
              f"{', '.join(structural)}, or its features will differ")
    return meta


if __name__ == '__main__':
    main()
