# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .mask_visualization_hook import SimFLEMaskVisualizationHook
from .model_info_hook import SimFLEInfoHook, count_parameters

__all__ = [
    'SimFLEInfoHook', 'SimFLEMaskVisualizationHook', 'count_parameters'
]
