# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmpretrain.registry import DATASETS, TRANSFORMS

from conftest import FERPLUS_ROOT, R50_CONFIG, requires_ferplus
from mmsimfle.datasets import FaceImageFolder


def write_image(path, size=(20, 20), channels=3, value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = size if channels == 1 else (*size, channels)
    cv2.imwrite(str(path), np.full(shape, value, dtype=np.uint8))


@pytest.fixture
def face_folder(tmp_path):
    root = tmp_path / 'faces'
    write_image(root / 'a.png')
    write_image(root / 'b.JPG')
    write_image(root / 'sub' / 'c.jpg')
    write_image(root / 'sub' / 'deeper' / 'd.jpeg', channels=1)
    (root / 'label.csv').write_text('a.png,0\n')
    (root / 'notes.txt').write_text('not an image')
    return root


def test_folder_is_scanned_recursively(face_folder):
    dataset = FaceImageFolder(data_root=str(face_folder))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    names = sorted(info['img_path'][len(str(face_folder)) + 1:]
                   for info in infos)

    assert len(dataset) == 4
    assert names == ['a.png', 'b.JPG', 'sub/c.jpg', 'sub/deeper/d.jpeg']
    assert all('gt_label' not in info for info in infos)



def test_indices_subsample_and_log_count(face_folder, log_messages):
    dataset = FaceImageFolder(data_root=str(face_folder), indices=2)
    assert len(dataset) == 2
    assert dataset.num_found == 4
    assert any('using 2 of 4 images' in m for m in log_messages)


def test_missing_folder_error_names_path(tmp_path):
    missing = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError, match='nowhere'):
        FaceImageFolder(data_root=str(missing))


def test_unknown_fallback_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="fallback='imagenet'"):
        FaceImageFolder(data_root=str(tmp_path), fallback='imagenet')


def test_fallback_writes_lfw_faces(tmp_path, log_messages):
    cache = tmp_path / 'cache'
    dataset = FaceImageFolder(
        data_root=str(tmp_path / 'missing'),
        fallback='skimage_lfw_subset',
        fallback_dir=str(cache))

    assert len(dataset) == 100
    assert len(list(cache.glob('lfw_face_*.png'))) == 100
    face = cv2.imread(str(cache / 'lfw_face_000.png'), cv2.IMREAD_UNCHANGED)
    assert face.shape == (25, 25)
    assert any('falls back to the 100 LFW faces' in m for m in log_messages)


def simfle_pipeline():
    cfg = Config.fromfile(str(R50_CONFIG))
    return Compose([TRANSFORMS.build(t) for t in cfg.train_pipeline])


def test_simfle_pipeline_gives_three_views_of_grayscale_face(face_folder):
    pipeline = simfle_pipeline()
    gray_path = face_folder / 'sub' / 'deeper' / 'd.jpeg'
    np.random.seed(0)
    results = pipeline(dict(img_path=str(gray_path)))
    view1, view2, face = results['inputs']

    assert tuple(view1.shape) == (3, 224, 224)
    assert tuple(view2.shape) == (3, 224, 224)
    assert tuple(face.shape) == (3, 112, 112)


def test_simfle_pipeline_runs_many_times_on_numpy_2(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / 'colour.png'
    cv2.imwrite(str(path), rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
    pipeline = simfle_pipeline()
    np.random.seed(0)
    for _ in range(150):
        results = pipeline(dict(img_path=str(path)))
        assert [tuple(v.shape) for v in results['inputs']] == [
            (3, 224, 224), (3, 224, 224), (3, 112, 112)]


def test_face_view_is_resize_only(tmp_path):
    # A 48x48 face becomes 112x112 by resizing alone: the face view of two
    # runs is identical while the global views differ.
    rng = np.random.default_rng(0)
    path = tmp_path / 'face.png'
    cv2.imwrite(str(path), rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
    pipeline = simfle_pipeline()
    first = pipeline(dict(img_path=str(path)))['inputs']
    second = pipeline(dict(img_path=str(path)))['inputs']

    assert (first[2] == second[2]).all()
    assert not (first[0] == second[0]).all()


@requires_ferplus
def test_ferplus_faces_through_simfle_pipeline():
    cfg = Config.fromfile(str(R50_CONFIG))
    dataset = DATASETS.build(
        dict(
            type='FaceImageFolder',
            data_root=str(FERPLUS_ROOT),
            data_prefix='FER2013Train',
            indices=300,
            pipeline=cfg.train_pipeline))

    assert len(dataset) == 300
    assert dataset.num_found == 28558
    for index in range(0, 300, 30):
        view1, view2, face = dataset[index]['inputs']
        assert tuple(view1.shape) == (3, 224, 224)
        assert tuple(face.shape) == (3, 112, 112)
        # FERPlus files are grayscale: the face view has 3 equal channels.
        assert (face[0] == face[1]).all()
        assert (face[1] == face[2]).all()


def test_empty_folder_is_fatal_at_start_up(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'label.csv').write_text('not an image\n')
    with pytest.raises(RuntimeError, match='Found 0 files'):
        FaceImageFolder(data_root=str(empty))
