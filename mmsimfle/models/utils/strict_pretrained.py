# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Pretrained initializer that fails instead of leaving random weights."""
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import update_init_info
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict
from mmpretrain.registry import WEIGHT_INITIALIZERS

# How many offending keys an error message lists per kind.
MAX_LISTED_KEYS = 5

_USAGE_HINT = (
    "Use prefix='backbone.' for the online backbone of a SimFLE checkpoint "
    "(prefix='target_net.module.0.' for its target network), and "
    'prefix=None for a backbone written by '
    'tools/model_converters/simfle_to_backbone.py --format mmpretrain. '
    'The model config (e.g. ResNet depth) must match the checkpoint.')


def format_key_list(keys: Sequence[str]) -> str:
    """Join the first ``MAX_LISTED_KEYS`` keys and count the rest."""
    listed = ', '.join(keys[:MAX_LISTED_KEYS])
    if len(keys) > MAX_LISTED_KEYS:
        listed += f', ... ({len(keys) - MAX_LISTED_KEYS} more)'
    return listed


@WEIGHT_INITIALIZERS.register_module(name='StrictPretrained')
class StrictPretrainedInit:
    """Initialize a module from a checkpoint, requiring an exact match.

    mmengine's ``Pretrained`` initializer (mmengine 0.10.7) only logs a
    warning when keys are missing or unexpected or shapes differ, and leaves
    those weights random. This one raises ``ValueError`` before it changes
    any weight when the prefix matches no key, when a key of the module or
    the checkpoint has no counterpart, or when shapes differ. Missing
    ``num_batches_tracked`` buffers are accepted, as mmengine's
    ``load_state_dict`` does, because BN layers with a set momentum do not
    read them.

    mmengine runs this initializer before the rest of the module's
    ``init_weights``, so after loading it keeps those later steps from
    overwriting the weights. It sets ``zero_init_residual = False`` where
    the module has that attribute, because mmpretrain's ResNet zeroes the
    last BN of each block unless its ``init_cfg`` has ``type='Pretrained'``.
    It also marks every ``BaseModule`` inside as initialized, so that their
    own ``init_cfg`` is not applied. Initializers listed after this one in
    the same ``init_cfg`` list still run, so put it last.

    The type is registered in MMPretrain's ``WEIGHT_INITIALIZERS``, which
    the ``default_scope='mmpretrain'`` of the configs selects. Without that
    scope use ``type='mmpretrain.StrictPretrained'``.

    Args:
        checkpoint (str): Checkpoint file or URI, as for ``Pretrained``.
            Local files are unpickled in full (see
            ``mmsimfle.engine.checkpoint_loader``): use trusted files only.
        prefix (str, optional): Load only the keys that start with this
            prefix, with the prefix removed, e.g. ``'backbone.'``. None loads
            the whole state dict, without a leading ``'module.'``.
            Defaults to None.
        map_location (str): Device to load the tensors to. Defaults to 'cpu'.

    Example:
        >>> backbone = dict(
        ...     type='ResNet',
        ...     depth=50,
        ...     init_cfg=dict(
        ...         type='StrictPretrained',
        ...         checkpoint='work_dirs/simfle/epoch_100.pth',
        ...         prefix='backbone.'))
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: str = 'cpu') -> None:
        if prefix is not None and not prefix.endswith('.'):
            prefix += '.'
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location

    def __call__(self, module: nn.Module) -> None:
        keys = 'all keys' if self.prefix is None else f'{self.prefix!r} keys'
        print_log(
            f'load {keys} of {self.checkpoint} into '
            f'{type(module).__name__} (strict)',
            logger='current')
        state_dict = self._load_state_dict()
        self._check_match(module, state_dict)
        load_state_dict(module, state_dict, strict=True, logger='current')
        self._protect_loaded_weights(module)

        if hasattr(module, '_params_init_info'):
            update_init_info(
                module,
                init_info=f'{type(self).__name__}: load from '
                f'{self.checkpoint}')

    def _load_state_dict(self) -> Dict:
        checkpoint = _load_checkpoint(
            self.checkpoint, map_location=self.map_location)
        if not isinstance(checkpoint, dict):
            raise ValueError(
                f'checkpoint {self.checkpoint!r} contains a '
                f'{type(checkpoint).__name__}, expected a state dict or an '
                "mmengine checkpoint with 'state_dict'")
        state_dict = checkpoint.get('state_dict', checkpoint)

        if self.prefix is None:
            return OrderedDict(
                (key[len('module.'):] if key.startswith('module.') else key,
                 value) for key, value in state_dict.items())
        selected = OrderedDict((key[len(self.prefix):], value)
                               for key, value in state_dict.items()
                               if key.startswith(self.prefix))
        if not selected:
            top_level_prefixes = sorted(
                {key.split('.', 1)[0] + '.'
                 for key in state_dict})
            raise ValueError(
                f'StrictPretrained: no key of checkpoint {self.checkpoint!r} '
                f'starts with prefix {self.prefix!r}. Its {len(state_dict)} '
                f'keys start with: {", ".join(top_level_prefixes)}. '
                f'{_USAGE_HINT}')
        return selected

    def _check_match(self, module: nn.Module, state_dict: Dict) -> None:
        expected = module.state_dict()
        missing = [
            key for key in expected if key not in state_dict
            and not key.endswith('num_batches_tracked')
        ]
        unexpected = [key for key in state_dict if key not in expected]
        mismatched = [
            f'{key} {tuple(value.shape)} != {tuple(expected[key].shape)}'
            for key, value in state_dict.items() if key in expected
            and hasattr(value, 'shape') and value.shape != expected[key].shape
        ]
        problems = []
        if missing:
            problems.append(f'{len(missing)} missing keys (in the module, not '
                            f'in the checkpoint): {format_key_list(missing)}.')
        if unexpected:
            problems.append(f'{len(unexpected)} unexpected keys (in the '
                            'checkpoint, not in the module): '
                            f'{format_key_list(unexpected)}.')
        if mismatched:
            problems.append(f'{len(mismatched)} shape mismatches (checkpoint '
                            f'!= module): {format_key_list(mismatched)}.')
        if problems:
            raise ValueError(
                f'StrictPretrained: checkpoint {self.checkpoint!r} with '
                f'prefix {self.prefix!r} does not match '
                f'{type(module).__name__} ({len(expected)} module keys, '
                f'{len(state_dict)} checkpoint keys). ' + ' '.join(problems) +
                f' {_USAGE_HINT}')

    @staticmethod
    def _protect_loaded_weights(module: nn.Module) -> None:
        if hasattr(module, 'zero_init_residual'):
            module.zero_init_residual = False
        for submodule in module.modules():
            if submodule is not module and isinstance(submodule, BaseModule):
                submodule._is_init = True
