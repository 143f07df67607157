# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import os.path as osp

import cv2
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from mmsimfle.datasets import RAFDB

LABEL_FILE = 'EmoLabel/list_patition_label.txt'
# (image name, RAF-DB label 1-7)
LINES = [
    ('train_00001.jpg', 5),
    ('train_00002.jpg', 1),
    ('train_00003.jpg', 7),
    ('train_00004.jpg', 4),
    ('train_00005.jpg', 4),
    ('test_0001.jpg', 7),
    ('test_0002.jpg', 2),
    ('test_0003.jpg', 3),
    ('test_0004.jpg', 6),
]


def write_rafdb(root, lines=LINES):
    """Write a RAF-DB basic tree: label list, aligned and original images."""
    (root / 'EmoLabel').mkdir(parents=True)
    (root / LABEL_FILE).write_text(''.join(f'{name} {label}\n'
                                           for name, label in lines))
    for folder in ('aligned', 'original'):
        (root / 'Image' / folder).mkdir(parents=True)
    for name, label in lines:
        stem = name[:-len('.jpg')]
        face = np.full((16, 16, 3), 30 * label, dtype=np.uint8)  # (16, 16, 3)
        cv2.imwrite(str(root / 'Image' / 'aligned' / f'{stem}_aligned.jpg'),
                    face)
        cv2.imwrite(str(root / 'Image' / 'original' / name),
                    np.full((24, 20, 3), 30 * label,
                            dtype=np.uint8))  # (24, 20, 3)
    return root


@pytest.fixture
def rafdb_root(tmp_path):
    return write_rafdb(tmp_path / 'basic')



def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_train_split_aligned(rafdb_root, log_messages):
    dataset = RAFDB(data_root=str(rafdb_root))
    items = infos(dataset)

    assert len(dataset) == 5
    assert dataset.CLASSES == ('surprise', 'fear', 'disgust', 'happiness',
                               'sadness', 'anger', 'neutral')
    # Labels 1-7 become class ids 0-6.
    assert [item['gt_label'] for item in items] == [4, 0, 6, 3, 3]
    assert items[0]['img_path'] == str(
        rafdb_root / 'Image' / 'aligned' / 'train_00001_aligned.jpg')
    assert all(osp.isfile(item['img_path']) for item in items)
    assert dataset.class_counts == [1, 0, 0, 2, 1, 0, 1]
    message = next(m for m in log_messages if m.startswith('RAFDB'))
    assert 'read 9 lines, kept 5' in message
    assert 'happiness 2' in message


def test_test_split_original(rafdb_root):
    dataset = RAFDB(data_root=str(rafdb_root), split='test', aligned=False)
    items = infos(dataset)

    assert len(dataset) == 4
    assert [item['gt_label'] for item in items] == [6, 1, 2, 5]
    assert items[0]['img_path'] == str(
        rafdb_root / 'Image' / 'original' / 'test_0001.jpg')
    assert all(osp.isfile(item['img_path']) for item in items)


def test_without_label(rafdb_root):
    dataset = RAFDB(data_root=str(rafdb_root), with_label=False)

    assert len(dataset) == 5
    assert all('gt_label' not in item for item in infos(dataset))


def test_pipeline_loads_aligned_face(rafdb_root):
    dataset = DATASETS.build(
        dict(
            type='RAFDB',
            data_root=str(rafdb_root),
            split='test',
            pipeline=[dict(type='LoadImageFromFile')]))
    results = dataset[0]

    assert results['img'].shape == (16, 16, 3)
    assert results['gt_label'] == 6


def test_invalid_split_raises(rafdb_root):
    with pytest.raises(ValueError, match=r"split='val' is invalid.*'train'"):
        RAFDB(data_root=str(rafdb_root), split='val')


@pytest.mark.parametrize(
    'bad_line, fragment',
    [
        ('train_00009.jpg', 'is invalid'),
        ('train_00009.jpg 3 extra', 'is invalid'),
        ('train_00009.jpg 0', "label '0' is invalid; valid labels are the "
         'integers 1-7'),
        ('train_00009.jpg 8', "label '8' is invalid"),
        ('train_00009.jpg sad', "label 'sad' is invalid"),
        ('val_00009.jpg 3', "image name 'val_00009.jpg' is invalid"),
    ])
def test_malformed_line_names_file_and_line(rafdb_root, bad_line, fragment):
    label_path = rafdb_root / LABEL_FILE
    lines = label_path.read_text().splitlines()
    lines.insert(2, bad_line)  # line 3
    label_path.write_text('\n'.join(lines) + '\n')

    with pytest.raises(ValueError) as error:
        RAFDB(data_root=str(rafdb_root))

    message = str(error.value)
    assert f'{label_path} line 3' in message
    assert fragment in message


def test_split_without_images_raises(tmp_path):
    root = write_rafdb(tmp_path / 'basic', lines=[('train_00001.jpg', 1)])

    with pytest.raises(ValueError, match="no image of split 'test'"):
        RAFDB(data_root=str(root), split='test')
