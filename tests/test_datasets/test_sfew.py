# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import shutil

import cv2
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from mmsimfle.datasets import SFEW

# Images per class folder of the tiny Train split.
TRAIN_COUNTS = {
    'Angry': 2,
    'Disgust': 1,
    'Fear': 1,
    'Happy': 3,
    'Neutral': 1,
    'Sad': 0,
    'Surprise': 2,
}


def write_sfew(root, counts=TRAIN_COUNTS, folder='Train'):
    """Write one SFEW split: a folder per class with small images."""
    for class_index, (name, count) in enumerate(counts.items()):
        class_root = root / folder / name
        class_root.mkdir(parents=True)
        for index in range(count):
            extension = '.png' if index % 2 else '.jpg'
            image = np.full((8, 8, 3), class_index * 30,
                            dtype=np.uint8)  # (8, 8, 3)
            cv2.imwrite(str(class_root / f'{name}_{index:03d}{extension}'),
                        image)
    return root


@pytest.fixture
def sfew_root(tmp_path):
    return write_sfew(tmp_path / 'sfew')



def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_train_split_labels(sfew_root, log_messages):
    dataset = SFEW(data_root=str(sfew_root), split='train')
    items = infos(dataset)

    assert dataset.CLASSES == ('angry', 'disgust', 'fear', 'happy', 'neutral',
                               'sad', 'surprise')
    assert len(dataset) == 10
    assert [item['gt_label']
            for item in items] == [0, 0, 1, 2, 3, 3, 3, 4, 6, 6]
    assert items[0]['img_path'] == str(sfew_root / 'Train' / 'Angry' /
                                       'Angry_000.jpg')
    assert items[1]['img_path'].endswith('Angry_001.png')
    assert dataset.class_counts == [2, 1, 1, 3, 1, 0, 2]
    message = next(m for m in log_messages if m.startswith('SFEW'))
    assert '10 images' in message
    assert 'happy 3' in message
    assert 'sad 0' in message


def test_val_split_by_folder_name(tmp_path):
    root = write_sfew(
        tmp_path / 'sfew', counts=dict.fromkeys(TRAIN_COUNTS, 1), folder='Val')

    assert len(SFEW(data_root=str(root), split='val')) == 7
    assert len(SFEW(data_root=str(root), split='Val')) == 7


def test_other_files_and_folders_are_ignored(sfew_root, log_messages):
    (sfew_root / 'Train' / 'Happy' / 'notes.txt').write_text('not an image')
    (sfew_root / 'Train' / 'Happy' / 'subfolder.jpg').mkdir()
    (sfew_root / 'Train' / 'Contempt').mkdir()
    upper = sfew_root / 'Train' / 'Sad' / 'SAD_UPPER.JPG'
    cv2.imwrite(str(upper), np.zeros((8, 8, 3), dtype=np.uint8))  # (8, 8, 3)
    dataset = SFEW(data_root=str(sfew_root))

    assert dataset.class_counts == [2, 1, 1, 3, 1, 1, 2]
    assert any("ignoring the folders ['Contempt']" in m for m in log_messages)


def test_without_label(sfew_root):
    dataset = SFEW(data_root=str(sfew_root), with_label=False)

    assert len(dataset) == 10
    assert all('gt_label' not in item for item in infos(dataset))


def test_pipeline_loads_image(sfew_root):
    dataset = DATASETS.build(
        dict(
            type='SFEW',
            data_root=str(sfew_root),
            pipeline=[dict(type='LoadImageFromFile')]))
    results = dataset[len(dataset) - 1]

    assert results['img'].shape == (8, 8, 3)
    assert results['gt_label'] == 6


def test_missing_class_folder_is_named(sfew_root):
    shutil.rmtree(sfew_root / 'Train' / 'Fear')

    with pytest.raises(ValueError, match=r"class folder\(s\) \['Fear'\]"):
        SFEW(data_root=str(sfew_root))


def test_missing_split_folder_raises(sfew_root):
    with pytest.raises(FileNotFoundError, match='Val'):
        SFEW(data_root=str(sfew_root), split='val')


def test_invalid_split_raises(sfew_root):
    with pytest.raises(ValueError,
                       match=r"split='test' is invalid; use one of"):
        SFEW(data_root=str(sfew_root), split='test')


def test_empty_split_raises(tmp_path):
    root = write_sfew(tmp_path / 'sfew', counts=dict.fromkeys(TRAIN_COUNTS, 0))

    with pytest.raises(ValueError, match='no image'):
        SFEW(data_root=str(root))
