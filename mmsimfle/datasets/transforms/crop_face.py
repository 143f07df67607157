# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import math
from typing import Dict

from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CropFaceBox(BaseTransform):
    """Crop the image to the face box of its annotation.

    Data sets such as ``AffectNet`` put ``face_bbox = (x, y, w, h)`` (pixels,
    top-left corner, width, height) into the data info. This transform
    crops ``results['img']`` to that box, clipped to the image, and does
    nothing when ``face_bbox`` is absent, so every pipeline can include it
    right after ``LoadImageFromFile``. Fractional coordinates are widened
    to whole pixels.

    Required keys: ``img``. Optional keys: ``face_bbox``, ``img_path``
    (named in errors).

    Modified keys: ``img``, ``img_shape``. The key ``face_bbox`` is removed,
    because it no longer refers to the cropped image, and the clipped box is
    stored as ``face_crop = (x, y, w, h)``. A second ``CropFaceBox`` in the
    same pipeline therefore does nothing.
    """

    def transform(self, results: Dict) -> Dict:
        """Crop ``results['img']`` (H, W) or (H, W, C) to the face box."""
        box = results.pop('face_bbox', None)
        if box is None:
            return results
        img = results['img']
        img_path = results.get('img_path')
        if len(box) != 4:
            raise ValueError(
                f'CropFaceBox: face_bbox {box!r} of {img_path} is invalid; '
                'expected 4 numbers (x, y, w, h)')
        x, y, width, height = (float(value) for value in box)
        image_height, image_width = img.shape[:2]
        left = max(math.floor(x), 0)
        top = max(math.floor(y), 0)
        right = min(math.ceil(x + width), image_width)
        bottom = min(math.ceil(y + height), image_height)
        if right <= left or bottom <= top:
            raise ValueError(
                f'CropFaceBox: face_bbox (x, y, w, h) = {tuple(box)} of '
                f'{img_path} does not overlap the {image_width}x'
                f'{image_height} image; check the face box in the annotation')

        results['img'] = img[top:bottom, left:right]
        results['img_shape'] = results['img'].shape[:2]
        results['face_crop'] = (left, top, right - left, bottom - top)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'
