# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS

from mmsimfle.datasets.transforms import CropFaceBox


def coordinate_image(height=10, width=12):
    """Return a uint8 (height, width, 3) image whose pixels name themselves.

    Channel 0 is the row, channel 1 the column and channel 2 the constant
    7, so every crop can be checked pixel by pixel.
    """
    rows, cols = np.mgrid[:height, :width]  # each (height, width)
    return np.stack([rows, cols, np.full_like(rows, 7)],
                    axis=-1).astype(np.uint8)  # (height, width, 3)


def crop(box, img=None, img_path='face.png'):
    img = coordinate_image() if img is None else img
    results = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                   img_path=img_path)
    if box is not None:
        results['face_bbox'] = box
    return CropFaceBox()(results)


def test_crop_inside_image():
    results = crop((3, 2, 4, 5))  # x, y, w, h
    img = results['img']

    assert img.shape == (5, 4, 3)
    assert results['img_shape'] == (5, 4)
    assert results['ori_shape'] == (10, 12)
    assert (img[..., 0] == np.arange(2, 7)[:, None]).all()
    assert (img[..., 1] == np.arange(3, 7)[None, :]).all()
    assert (img[..., 2] == 7).all()
    assert results['face_crop'] == (3, 2, 4, 5)
    assert 'face_bbox' not in results


def test_crop_is_clipped_to_image():
    # The box reaches 3 pixels left of and 2 below the 12x10 image.
    results = crop((-3, 6, 8, 6))
    img = results['img']

    assert img.shape == (4, 5, 3)
    assert results['img_shape'] == (4, 5)
    assert tuple(img[0, 0, :2]) == (6, 0)  # (row, column)
    assert tuple(img[-1, -1, :2]) == (9, 4)
    assert results['face_crop'] == (0, 6, 5, 4)


def test_fractional_box_is_widened():
    results = crop((1.5, 2.2, 2.0, 1.6))  # covers x 1.5-3.5, y 2.2-3.8

    assert results['face_crop'] == (1, 2, 3, 2)
    assert tuple(results['img'][0, 0, :2]) == (2, 1)  # (row, column)


def test_grayscale_image_is_cropped():
    gray = coordinate_image()[..., 1].copy()  # (10, 12), the column index
    results = crop((4, 0, 2, 10), img=gray)

    assert results['img'].shape == (10, 2)
    assert (results['img'] == np.array([4, 5])).all()


def test_missing_box_is_noop():
    img = coordinate_image()
    results = crop(None, img=img)

    assert results['img'] is img
    assert results['img_shape'] == (10, 12)
    assert 'face_crop' not in results


def test_second_crop_is_noop():
    transform = CropFaceBox()
    img = coordinate_image()
    results = transform(dict(img=img, face_bbox=(2, 2, 6, 6)))
    results = transform(results)

    assert results['img'].shape == (6, 6, 3)
    assert results['img'][0, 0, 0] == 2


@pytest.mark.parametrize('box', [(12, 0, 5, 5), (0, -6, 4, 5), (3, 3, 0, 4),
                                 (-10, -10, 4, 4)])
def test_box_outside_image_raises(box):
    with pytest.raises(ValueError) as error:
        crop(box, img_path='/data/img_0001.jpg')

    message = str(error.value)
    assert '/data/img_0001.jpg' in message
    assert str(tuple(box)) in message
    assert '12x10' in message


def test_box_with_wrong_length_raises():
    with pytest.raises(ValueError, match='expected 4 numbers'):
        crop((1, 2, 3))


def test_registered_in_transforms():
    transform = TRANSFORMS.build(dict(type='CropFaceBox'))

    assert isinstance(transform, CropFaceBox)
    assert repr(transform) == 'CropFaceBox()'
