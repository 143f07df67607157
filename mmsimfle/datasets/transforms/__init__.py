# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .color_jitter import HueSafeColorJitter, adjust_hue

__all__ = ['HueSafeColorJitter', 'adjust_hue']
