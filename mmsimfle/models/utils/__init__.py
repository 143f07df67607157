# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .semantic_mask_generator import (SemanticMask, SemanticMaskGenerator,
                                      check_mask_settings, num_kept_patches)
from .strict_pretrained import StrictPretrainedInit
from .target_network import TargetNetworkEMA

__all__ = [
    'SemanticMask', 'SemanticMaskGenerator', 'StrictPretrainedInit',
    'TargetNetworkEMA',
    'check_mask_settings', 'num_kept_patches'
]
