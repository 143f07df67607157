# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import os
from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import MMLogger
from mmpretrain.registry import TRANSFORMS
from PIL import Image, UnidentifiedImageError

ON_ERROR_CHOICES = ('skip', 'raise')


class UnreadableImageError(ValueError):
    """An image file that cannot be used as a face image."""


def read_face_image(path: str, min_size: int = 8) -> np.ndarray:
    """Read an image file as a uint8 BGR array (H, W, 3).

    Grayscale and palette images become 3 channels, the alpha channel of
    RGBA images is dropped, and 16-bit images are scaled to 8 bits
    (value / 257). Raises UnreadableImageError, naming the file and the
    reason, for a missing, empty, truncated, corrupt or non-image file and
    for an image with a side shorter than ``min_size`` pixels.
    """
    if not os.path.isfile(path):
        raise UnreadableImageError(f'{path}: file not found')
    if os.path.getsize(path) == 0:
        raise UnreadableImageError(f'{path}: empty file (0 bytes)')
    try:
        with Image.open(path) as image:
            image.load()  # decodes fully; a truncated file raises here
            pixels = to_rgb_uint8(image)  # (H, W, 3) RGB
    except UnidentifiedImageError:
        raise UnreadableImageError(
            f'{path}: not an image in a format Pillow can read') from None
    except (OSError, SyntaxError, ValueError) as error:
        raise UnreadableImageError(
            f'{path}: corrupt, truncated or unsupported image ({error})'
        ) from None

    height, width = pixels.shape[:2]
    if min(height, width) < min_size:
        raise UnreadableImageError(
            f'{path}: image of {width}x{height} pixels is smaller than '
            f'min_size={min_size}')
    return np.ascontiguousarray(pixels[..., ::-1])  # RGB -> BGR


def to_rgb_uint8(image: Image.Image) -> np.ndarray:
    """Convert a Pillow image of any common mode to a uint8 RGB array."""
    if image.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        values = np.asarray(image, dtype=np.float64)  # (H, W)
        if image.mode == 'I' and values.max(initial=0) <= 255:
            gray = values
        else:
            gray = values / 257.0  # 65535 -> 255
        gray = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode == 'F':
        raise ValueError('floating-point images are not supported')
    return np.asarray(image.convert('RGB'), dtype=np.uint8)


@TRANSFORMS.register_module()
class LoadFaceImage(BaseTransform):
    """Load a face image robustly, as 3-channel uint8 BGR.

    A drop-in replacement for ``LoadImageFromFile`` on web-scale face data
    (see :func:`read_face_image` for the conversions). With
    ``on_error='skip'`` (for training), an unreadable file makes the
    transform return None, so mmengine's ``BaseDataset`` draws another
    sample. Each skip is logged as a warning with the file, the reason and
    the running count of skips in this process. The first ``max_logged``
    skips are logged, then every 100th. With ``on_error='raise'`` (for
    evaluation, where every image must count) it raises
    ``UnreadableImageError``.

    Args:
        on_error (str): ``'skip'`` or ``'raise'``. Defaults to ``'skip'``.
        min_size (int): Images with a side shorter than this many pixels
            are unreadable. Defaults to 8.
        max_logged (int): Skips logged one by one before the log thins
            out. Defaults to 20.
    """

    def __init__(self,
                 on_error: str = 'skip',
                 min_size: int = 8,
                 max_logged: int = 20) -> None:
        if on_error not in ON_ERROR_CHOICES:
            raise ValueError(f'LoadFaceImage: on_error={on_error!r} is '
                             f'invalid; use one of {ON_ERROR_CHOICES}')
        self.on_error = on_error
        self.min_size = min_size
        self.max_logged = max_logged
        self.num_skipped = 0

    def transform(self, results: Dict) -> Optional[Dict]:
        """Read ``results['img_path']`` into ``results['img']``.

        A data set that keeps pixels in memory (``FER2013CSV``) passes
        ``img`` and no path. Such a (H, W) or (H, W, 1) uint8 image is made
        3-channel BGR, and no file is read.
        """
        path = results.get('img_path')
        if path is None and results.get('img') is not None:
            img = np.asarray(results['img'], dtype=np.uint8)
            if img.ndim == 3 and img.shape[2] == 1:
                img = img[..., 0]
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)  # (H, W, 3)
            results['img'] = img
            results['img_shape'] = img.shape[:2]
            results['ori_shape'] = img.shape[:2]
            return results
        try:
            img = read_face_image(path, self.min_size)
        except UnreadableImageError as error:
            if self.on_error == 'raise':
                raise
            self.num_skipped += 1
            if (self.num_skipped <= self.max_logged
                    or self.num_skipped % 100 == 0):
                MMLogger.get_current_instance().warning(
                    f'skipped unreadable image ({self.num_skipped} skipped in '
                    f'this process so far): {error}')
            return None
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(on_error={self.on_error!r}, '
                f'min_size={self.min_size})')
