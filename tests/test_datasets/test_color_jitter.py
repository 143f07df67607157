# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import mmcv
import numpy as np
import pytest

from mmsimfle.datasets import HueSafeColorJitter, adjust_hue


def pure_red_bgr() -> np.ndarray:
    img = np.zeros((2, 2, 3), dtype=np.uint8)
    img[..., 2] = 255  # BGR: red channel last
    return img


def test_negative_hue_shift_works_on_numpy_2():
    # -1/3 turn moves red to blue.
    shifted = adjust_hue(pure_red_bgr(), -1 / 3)
    blue, green, red = shifted[0, 0]
    assert blue > 240
    assert green < 15
    assert red < 15


def test_positive_hue_shift_moves_red_to_green():
    shifted = adjust_hue(pure_red_bgr(), 1 / 3)
    blue, green, red = shifted[0, 0]
    assert green > 240
    assert blue < 15
    assert red < 15


def test_adjust_hue_matches_mmcv_for_positive_factors():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    for factor in (0.0, 0.05, 0.2, 0.5):
        expected = mmcv.adjust_hue(img, factor, backend='pillow')
        assert np.array_equal(adjust_hue(img, factor), expected), factor


def test_adjust_hue_rejects_out_of_range_factor():
    with pytest.raises(ValueError, match=r'hue_factor=0.6'):
        adjust_hue(pure_red_bgr(), 0.6)


def test_color_jitter_with_hue_runs_many_times():
    np.random.seed(0)
    rng = np.random.default_rng(1)
    transform = HueSafeColorJitter(
        brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    outputs = [transform(dict(img=img.copy()))['img'] for _ in range(300)]

    assert all(out.shape == (16, 16, 3) for out in outputs)
    assert all(out.dtype == np.uint8 for out in outputs)
    assert len({out.tobytes() for out in outputs}) > 250
