# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import warnings
from typing import Dict

import mmcv
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter
from mmpretrain.registry import TRANSFORMS
from PIL import Image


def adjust_hue(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """Shift the hue of a uint8 BGR image by ``hue_factor`` turns.

    It computes what ``mmcv.adjust_hue`` (mmcv 2.2.0, Pillow backend)
    computes, but wraps a negative shift into [0, 255] before the uint8
    cast. mmcv casts ``np.uint8(hue_factor * 255)`` directly, which raises
    OverflowError under numpy 2 for every negative hue factor.

    Args:
        img (np.ndarray): Image (H, W, 3), uint8, BGR order.
        hue_factor (float): Shift in [-0.5, 0.5] of a full hue turn.
    """
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor={hue_factor} is not in [-0.5, 0.5]')
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise TypeError('adjust_hue expects a uint8 (H, W, 3) BGR image, got '
                        f'{img.dtype} of shape {img.shape}')
    rgb = Image.fromarray(np.ascontiguousarray(img[..., ::-1]), mode='RGB')
    hue, saturation, value = rgb.convert('HSV').split()
    # Truncation towards zero, then wrap-around, as numpy 1 cast it.
    shift = np.uint8(int(hue_factor * 255) % 256)
    shifted = np.asarray(hue, dtype=np.uint8) + shift  # wraps modulo 256
    hsv = Image.merge('HSV', (Image.fromarray(shifted, 'L'), saturation, value))
    return np.asarray(hsv.convert('RGB'), dtype=np.uint8)[..., ::-1].copy()


@TRANSFORMS.register_module()
class HueSafeColorJitter(ColorJitter):
    """mmpretrain's ``ColorJitter`` with a hue shift that works on numpy 2.

    Brightness, contrast and saturation are applied with mmcv as in
    ``ColorJitter``, in a random order; the hue step uses
    :func:`adjust_hue`. Arguments are those of ``ColorJitter``.
    """

    def transform(self, results: Dict) -> Dict:
        """Jitter ``results['img']`` (uint8 BGR) in a random order."""
        img = results['img']
        order, brightness, contrast, saturation, hue = self._rand_params()
        for index in order:
            if index == 0 and brightness is not None:
                img = mmcv.adjust_brightness(
                    img, brightness, backend=self.backend)
            elif index == 1 and contrast is not None:
                img = mmcv.adjust_contrast(img, contrast, backend=self.backend)
            elif index == 2 and saturation is not None:
                with warnings.catch_warnings():
                    # mmcv 2.2.0 warns on every Pillow-backend call even
                    # when only alpha is given.
                    warnings.filterwarnings(
                        'ignore', message="Only use 'alpha'")
                    img = mmcv.adjust_color(
                        img, alpha=saturation, backend=self.backend)
            elif index == 3 and hue is not None:
                img = adjust_hue(img, hue)
        results['img'] = img
        return results
