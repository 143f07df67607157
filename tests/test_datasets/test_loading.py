# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.

import cv2
import numpy as np
import pytest
from PIL import Image

from mmsimfle.datasets import FaceImageFolder
from mmsimfle.datasets.transforms.loading import (LoadFaceImage,
                                                  UnreadableImageError,
                                                  read_face_image)



def colour_image(size=16) -> np.ndarray:
    img = np.zeros((size, size, 3), dtype=np.uint8)  # BGR
    img[..., 0] = 10
    img[..., 1] = 20
    img[..., 2] = 200
    return img


@pytest.fixture
def bad_files(tmp_path):
    files = {}
    files['zero_byte'] = tmp_path / 'zero.jpg'
    files['zero_byte'].write_bytes(b'')
    files['corrupt'] = tmp_path / 'corrupt.jpg'
    files['corrupt'].write_bytes(b'\xff\xd8\xff' + bytes(range(256)) * 4)
    files['not_an_image'] = tmp_path / 'notes.png'
    files['not_an_image'].write_text('label,0\n')
    good = cv2.imencode('.jpg', np.random.default_rng(0).integers(
        0, 256, (64, 64, 3), dtype=np.uint8))[1].tobytes()
    files['truncated'] = tmp_path / 'truncated.jpg'
    files['truncated'].write_bytes(good[:len(good) // 2])
    files['tiny'] = tmp_path / 'tiny.png'
    cv2.imwrite(str(files['tiny']), np.zeros((1, 1, 3), dtype=np.uint8))
    files['missing'] = tmp_path / 'missing.png'
    return files


@pytest.mark.parametrize('case, reason', [
    ('zero_byte', 'empty file'),
    # A JPEG start marker followed by noise is not identified as an image.
    ('corrupt', 'not an image'),
    ('not_an_image', 'not an image'),
    ('truncated', 'corrupt, truncated or unsupported'),
    ('tiny', 'smaller than min_size=8'),
    ('missing', 'file not found'),
])
def test_unreadable_files_raise_with_reason(bad_files, case, reason):
    path = str(bad_files[case])
    with pytest.raises(UnreadableImageError, match=reason) as error:
        read_face_image(path)
    assert path in str(error.value)


def test_skip_mode_returns_none_and_counts(bad_files, log_messages):
    transform = LoadFaceImage(on_error='skip')
    for case in ('zero_byte', 'corrupt', 'truncated'):
        assert transform(dict(img_path=str(bad_files[case]))) is None

    assert transform.num_skipped == 3
    assert len(log_messages) == 3
    assert '(3 skipped in this process so far)' in log_messages[-1]
    assert 'truncated.jpg' in log_messages[-1]


def test_raise_mode_names_file(bad_files):
    transform = LoadFaceImage(on_error='raise')
    with pytest.raises(UnreadableImageError, match='corrupt.jpg'):
        transform(dict(img_path=str(bad_files['corrupt'])))


def test_invalid_on_error_is_rejected():
    with pytest.raises(ValueError, match="on_error='ignore' is invalid"):
        LoadFaceImage(on_error='ignore')


def test_grayscale_becomes_three_equal_channels(tmp_path):
    path = tmp_path / 'gray.png'
    cv2.imwrite(str(path), np.full((12, 10), 77, dtype=np.uint8))
    img = read_face_image(str(path))
    assert img.shape == (12, 10, 3)
    assert img.dtype == np.uint8
    assert (img == 77).all()


def test_rgba_drops_alpha_and_keeps_colour(tmp_path):
    path = tmp_path / 'rgba.png'
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    rgba[...] = (200, 20, 10, 0)  # red, fully transparent
    Image.fromarray(rgba, 'RGBA').save(path)
    img = read_face_image(str(path))
    assert img.shape == (10, 10, 3)
    assert tuple(img[0, 0]) == (10, 20, 200)  # BGR


def test_sixteen_bit_png_is_scaled_to_eight_bits(tmp_path):
    path = tmp_path / 'deep.png'
    deep = np.zeros((10, 10), dtype=np.uint16)
    deep[0, 0] = 65535
    deep[0, 1] = 257 * 100
    cv2.imwrite(str(path), deep)
    img = read_face_image(str(path))
    assert img.dtype == np.uint8
    assert tuple(img[0, 0]) == (255, 255, 255)
    assert tuple(img[0, 1]) == (100, 100, 100)
    assert tuple(img[5, 5]) == (0, 0, 0)


def test_colour_jpeg_is_bgr(tmp_path):
    path = tmp_path / 'colour.png'
    cv2.imwrite(str(path), colour_image())
    img = read_face_image(str(path))
    assert tuple(img[0, 0]) == (10, 20, 200)


def test_dataset_replaces_corrupt_sample(tmp_path, log_messages):
    root = tmp_path / 'faces'
    root.mkdir()
    for index in range(3):
        cv2.imwrite(str(root / f'good_{index}.png'), colour_image())
    (root / 'bad.jpg').write_bytes(b'not a jpeg at all')
    dataset = FaceImageFolder(
        data_root=str(root),
        pipeline=[dict(type='LoadFaceImage'),
                  dict(type='PackInputs')])
    names = [dataset.get_data_info(i)['img_path'] for i in range(4)]
    bad_index = [i for i, n in enumerate(names) if n.endswith('bad.jpg')][0]

    item = dataset[bad_index]  # mmengine draws another sample instead

    assert tuple(item['inputs'].shape) == (3, 16, 16)
    assert any('bad.jpg' in m for m in log_messages)
