# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .mask_visualization_hook import SimFLEMaskVisualizationHook
from .model_info_hook import SimFLEInfoHook, count_parameters
from .non_finite_loss_hook import NonFiniteLossHook
from .random_state_hook import (RandomStateHook, capture_random_state,
                                restore_random_state)

__all__ = [
    'SimFLEInfoHook', 'SimFLEMaskVisualizationHook', 'count_parameters',
    'NonFiniteLossHook', 'RandomStateHook', 'capture_random_state',
    'restore_random_state'
]
