# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import cv2
import numpy as np
import pytest
from mmengine.dataset import ConcatDataset
from mmpretrain.registry import DATASETS

from test_affectnet import write_affectnet
from test_ferplus import write_ferplus

# CropFaceBox cuts AffectNet faces out and does nothing for the others.
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='CropFaceBox'),
    dict(type='Resize', scale=(16, 16)),
    dict(type='PackInputs'),
]


@pytest.fixture
def pretraining_datasets(tmp_path):
    """Return configs of unlabelled FERPlus, AffectNet and a face folder."""
    ferplus_root = write_ferplus(tmp_path / 'ferplus')
    affectnet_root = write_affectnet(tmp_path / 'affectnet')
    folder = tmp_path / 'faces'
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f'face_{index}.png'),
                    np.full((20, 20, 3), 40 * index,
                            dtype=np.uint8))  # (20, 20, 3)
    return [
        dict(
            type='FERPlus',
            data_root=str(ferplus_root),
            split='train',
            with_label=False,
            pipeline=PIPELINE),
        dict(
            type='AffectNet',
            data_root=str(affectnet_root),
            ann_file='training.csv',
            with_label=False,
            pipeline=PIPELINE),
        dict(type='FaceImageFolder', data_root=str(folder), pipeline=PIPELINE),
    ]


def test_concat_has_all_images_without_labels(pretraining_datasets):
    dataset = DATASETS.build(
        dict(
            type='ConcatDataset',
            datasets=pretraining_datasets,
            ignore_keys=['classes']))

    assert isinstance(dataset, ConcatDataset)
    # FERPlus keeps 6 images, AffectNet 9 and the folder contains 3.
    assert [len(part) for part in dataset.datasets] == [6, 9, 3]
    assert len(dataset) == 18
    for index in range(len(dataset)):
        assert 'gt_label' not in dataset.get_data_info(index)
        item = dataset[index]
        assert tuple(item['inputs'].shape) == (3, 16, 16)
        assert 'gt_label' not in item['data_samples']
        assert 'gt_score' not in item['data_samples']


def test_concat_keeps_first_metainfo(pretraining_datasets):
    dataset = ConcatDataset(
        [DATASETS.build(cfg) for cfg in pretraining_datasets],
        ignore_keys=['classes'])

    assert dataset.metainfo['classes'][0] == 'neutral'
    assert len(dataset.metainfo['classes']) == 8


def test_concat_without_ignore_keys_raises(pretraining_datasets):
    # FERPlus and AffectNet name their classes differently, so mmengine's
    # check of the meta information fails.
    with pytest.raises(ValueError, match='2-th dataset does not match'):
        DATASETS.build(
            dict(type='ConcatDataset', datasets=pretraining_datasets))


def test_concat_with_face_folder_needs_ignore_keys(pretraining_datasets):
    # FaceImageFolder has no classes at all.
    ferplus, _, folder = pretraining_datasets
    with pytest.raises(ValueError, match='classes does not in the meta'):
        DATASETS.build(dict(type='ConcatDataset', datasets=[ferplus, folder]))
