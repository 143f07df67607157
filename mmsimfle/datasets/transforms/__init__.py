# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .color_jitter import HueSafeColorJitter, adjust_hue
from .crop_face import CropFaceBox
from .loading import LoadFaceImage, UnreadableImageError, read_face_image

__all__ = [
    'CropFaceBox', 'HueSafeColorJitter', 'LoadFaceImage',
    'UnreadableImageError', 'adjust_hue', 'read_face_image'
]
