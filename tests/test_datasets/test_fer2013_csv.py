# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import csv

import numpy as np
import pytest

from mmsimfle.datasets import FER2013CSV

HEADER = ['Usage', 'Image name', 'neutral', 'happiness', 'surprise',
          'sadness', 'anger', 'disgust', 'fear', 'contempt', 'unknown', 'NF']

# (usage, image name, 10 votes)
ROWS = [
    ('Training', 'fer0000000.png', (8, 2, 0, 0, 0, 0, 0, 0, 0, 0)),  # neutral
    ('Training', 'fer0000001.png', (0, 9, 1, 0, 0, 0, 0, 0, 0, 0)),  # happy
    ('Training', '', (10, 0, 0, 0, 0, 0, 0, 0, 0, 0)),  # dropped by FERPlus
    ('Training', 'fer0000003.png', (0, 0, 0, 0, 0, 0, 0, 0, 2, 8)),  # NF
    ('PublicTest', 'fer0000004.png', (0, 0, 0, 0, 0, 0, 0, 7, 3, 0)),
    ('PrivateTest', 'fer0000005.png', (5, 5, 0, 0, 0, 0, 0, 0, 0, 0)),
]


def write_csvs(root, rows=ROWS, pixel_usages=None, pixel_count=48 * 48):
    with open(root / 'fer2013new.csv', 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for usage, name, votes in rows:
            writer.writerow([usage, name, *votes])
    with open(root / 'fer2013.csv', 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['emotion', 'pixels', 'Usage'])
        for index, (usage, _, _) in enumerate(rows):
            if pixel_usages is not None:
                usage = pixel_usages[index]
            pixels = ' '.join(str((index * 10 + i) % 256)
                              for i in range(pixel_count))
            writer.writerow([0, pixels, usage])


def test_training_split_joins_rows_and_labels(tmp_path):
    write_csvs(tmp_path)
    dataset = FER2013CSV(data_root=str(tmp_path), split='train')

    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [info['image_name'] for info in infos] == [
        'fer0000000.png', 'fer0000001.png'
    ]
    assert [info['gt_label'] for info in infos] == [0, 1]
    assert dataset.dropped_counts['dropped_by_ferplus'] == 1
    assert dataset.dropped_counts['NF'] == 1
    # Row 2 of fer2013.csv contains pixel values (10 + i) % 256.
    assert infos[1]['img'].shape == (48, 48)
    assert infos[1]['img'][0, :3].tolist() == [10, 11, 12]


def test_splits_follow_usage(tmp_path):
    write_csvs(tmp_path)
    valid = FER2013CSV(data_root=str(tmp_path), split='valid')
    assert valid.get_data_info(0)['gt_label'] == 7  # contempt
    with pytest.raises(ValueError, match='no image of Usage'):
        # 5 vs 5 is no majority, so the only PrivateTest image is unknown.
        FER2013CSV(data_root=str(tmp_path), split='test')


def test_probability_mode_scores(tmp_path):
    write_csvs(tmp_path)
    dataset = FER2013CSV(
        data_root=str(tmp_path), split='test', label_mode='probability')
    info = dataset.get_data_info(0)
    assert np.allclose(info['gt_score'], [0.5, 0.5, 0, 0, 0, 0, 0, 0])
    assert info['gt_label'] == 0


def test_pipeline_loads_in_memory_pixels(tmp_path):
    write_csvs(tmp_path)
    dataset = FER2013CSV(
        data_root=str(tmp_path),
        pipeline=[dict(type='LoadFaceImage'),
                  dict(type='PackInputs')])
    item = dataset[0]
    assert tuple(item['inputs'].shape) == (3, 48, 48)
    assert (item['inputs'][0] == item['inputs'][2]).all()


def test_mismatched_usage_names_row(tmp_path):
    usages = [usage for usage, _, _ in ROWS]
    usages[1] = 'PublicTest'
    write_csvs(tmp_path, pixel_usages=usages)
    with pytest.raises(ValueError, match='row 3 has Usage'):
        FER2013CSV(data_root=str(tmp_path))


def test_bad_pixel_string_names_row(tmp_path):
    write_csvs(tmp_path, pixel_count=100)
    with pytest.raises(ValueError, match='row 2: expected 2304 pixel'):
        FER2013CSV(data_root=str(tmp_path))


def test_missing_file_and_invalid_split(tmp_path):
    with pytest.raises(FileNotFoundError, match='fer2013.csv not found'):
        FER2013CSV(data_root=str(tmp_path))
    with pytest.raises(ValueError, match="split='val' is invalid"):
        FER2013CSV(data_root=str(tmp_path), split='val')
