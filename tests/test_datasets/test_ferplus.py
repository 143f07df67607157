# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import csv
import os.path as osp
from collections import Counter

import cv2
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from conftest import FERPLUS_ROOT, requires_ferplus
from mmsimfle.datasets import FERPlus

# Rows (image name, 10 votes) of the tiny FER2013Train/label.csv. The votes
# are in label.csv order: neutral, happiness, surprise, sadness, anger,
# disgust, fear, contempt, unknown, NF. Each comment gives the majority
# outcome.
ROWS = [
    # 8 of 10: happiness.
    ('clear_happy.png', (0, 8, 2, 0, 0, 0, 0, 0, 0, 0)),
    # 4 of 10 is no majority, but with the six single votes removed neutral
    # has 4 of 4.
    ('outlier_neutral.png', (4, 0, 1, 1, 1, 1, 1, 1, 0, 0)),
    # 3 of 10 is no majority, but after outlier removal contempt has 3 of 5.
    ('outlier_contempt.png', (0, 1, 0, 2, 1, 1, 1, 3, 1, 0)),
    # After outlier removal surprise has 4 of 8: exactly half -> unknown.
    ('exact_half.png', (0, 0, 4, 1, 2, 1, 2, 0, 0, 0)),
    # NF wins -> dropped as NF.
    ('not_a_face.png', (2, 0, 0, 0, 0, 0, 0, 0, 0, 8)),
    # The unknown category wins -> dropped as unknown.
    ('unknown_wins.png', (0, 0, 0, 4, 0, 0, 0, 0, 6, 0)),
    # Anger and disgust tie at 4 of 10 -> unknown.
    ('tie.png', (2, 0, 0, 0, 4, 4, 0, 0, 0, 0)),
    # Listed twice with different votes: the first row (happiness) counts.
    ('duplicate.png', (0, 10, 0, 0, 0, 0, 0, 0, 0, 0)),
    # No image file on disk -> skipped.
    ('missing.png', (0, 0, 0, 0, 10, 0, 0, 0, 0, 0)),
    # Only a single neutral vote besides unknown -> unknown. In probability
    # mode no emotion vote is left.
    ('no_emotion.png', (1, 0, 0, 0, 0, 0, 0, 0, 9, 0)),
    # Only 7 votes: 4 of 7 is a majority.
    ('seven_votes.png', (0, 0, 0, 4, 3, 0, 0, 0, 0, 0)),
    ('fear.png', (0, 0, 4, 0, 0, 0, 6, 0, 0, 0)),
    ('duplicate.png', (0, 0, 0, 10, 0, 0, 0, 0, 0, 0)),
]
MAJORITY_LABELS = {
    'clear_happy.png': 1,
    'outlier_neutral.png': 0,
    'outlier_contempt.png': 7,
    'duplicate.png': 1,
    'seven_votes.png': 3,
    'fear.png': 6,
}
# Votes after outlier removal, normalised over the 8 emotions.
PROBABILITIES = {
    'clear_happy.png': [0, 0.8, 0.2, 0, 0, 0, 0, 0],
    'outlier_neutral.png': [1, 0, 0, 0, 0, 0, 0, 0],
    'outlier_contempt.png': [0, 0, 0, 0.4, 0, 0, 0, 0.6],
    'exact_half.png': [0, 0, 0.5, 0, 0.25, 0, 0.25, 0],
    'not_a_face.png': [1, 0, 0, 0, 0, 0, 0, 0],
    'unknown_wins.png': [0, 0, 0, 1, 0, 0, 0, 0],
    'tie.png': [0.2, 0, 0, 0, 0.4, 0.4, 0, 0],
    'duplicate.png': [0, 1, 0, 0, 0, 0, 0, 0],
    'seven_votes.png': [0, 0, 0, 4 / 7, 3 / 7, 0, 0, 0],
    'fear.png': [0, 0, 0.4, 0, 0, 0, 0.6, 0],
}
PROBABILITY_LABELS = {
    'clear_happy.png': 1,
    'outlier_neutral.png': 0,
    'outlier_contempt.png': 7,
    'exact_half.png': 2,
    'not_a_face.png': 0,
    'unknown_wins.png': 3,
    'tie.png': 4,  # anger and disgust tie: the first one, anger
    'duplicate.png': 1,
    'seven_votes.png': 3,
    'fear.png': 6,
}


def label_row(name, votes, box='(0, 0, 48, 48)'):
    return ','.join([name, f'"{box}"', *map(str, votes)])


def write_ferplus(root, rows=ROWS, folder='FER2013Train',
                  missing=('missing.png', )):
    """Write a FERPlus split folder: 48x48 grayscale PNGs and label.csv."""
    split_root = root / folder
    split_root.mkdir(parents=True)
    lines = []
    for index, (name, votes) in enumerate(rows):
        lines.append(label_row(name, votes))
        if name not in missing:
            face = np.full((48, 48), index * 10, dtype=np.uint8)  # (48, 48)
            cv2.imwrite(str(split_root / name), face)
    (split_root / 'label.csv').write_text('\n'.join(lines) + '\n')
    return root


@pytest.fixture
def ferplus_root(tmp_path):
    return write_ferplus(tmp_path / 'ferplus')



def labels_by_name(dataset):
    items = [dataset.get_data_info(i) for i in range(len(dataset))]
    return {osp.basename(item['img_path']): item for item in items}


def test_majority_protocol(ferplus_root, log_messages):
    dataset = FERPlus(data_root=str(ferplus_root), split='train')
    items = labels_by_name(dataset)

    assert dataset.CLASSES == ('neutral', 'happiness', 'surprise', 'sadness',
                               'anger', 'disgust', 'fear', 'contempt')
    assert {name: item['gt_label']
            for name, item in items.items()} == MAJORITY_LABELS
    assert all('gt_score' not in item for item in items.values())
    assert dataset.num_rows == 13
    assert dataset.num_duplicates == 1
    assert dataset.num_missing == 1
    assert dataset.dropped_counts == {'unknown': 4, 'NF': 1}
    assert dataset.class_counts == [1, 2, 0, 1, 0, 0, 1, 1]
    message = next(m for m in log_messages if m.startswith('FERPlus'))
    assert 'read 13 rows' in message
    assert 'dropped 1 duplicate names' in message
    assert 'skipped 1 missing image files' in message
    assert 'dropped 4 as unknown, 1 as NF' in message
    assert 'kept 6' in message
    assert 'happiness 2' in message


def test_duplicate_keeps_first_row(ferplus_root):
    dataset = FERPlus(data_root=str(ferplus_root), split='FER2013Train')
    item = labels_by_name(dataset)['duplicate.png']

    assert item['gt_label'] == 1  # the first row's happiness, not sadness


def test_probability_mode(ferplus_root, log_messages):
    dataset = FERPlus(
        data_root=str(ferplus_root), split='train', label_mode='probability')
    items = labels_by_name(dataset)

    assert sorted(items) == sorted(PROBABILITIES)
    for name, expected in PROBABILITIES.items():
        score = items[name]['gt_score']
        assert score.dtype == np.float32, name
        assert score.shape == (8, ), name
        np.testing.assert_allclose(score, expected, rtol=1e-6, err_msg=name)
        assert items[name]['gt_label'] == PROBABILITY_LABELS[name], name
    assert dataset.dropped_counts == {'no emotion vote': 1}
    message = next(m for m in log_messages if m.startswith('FERPlus'))
    assert 'dropped 1 as no emotion vote' in message
    assert 'kept 10' in message


def test_without_label_keeps_same_images(ferplus_root):
    labelled = FERPlus(data_root=str(ferplus_root))
    unlabelled = FERPlus(data_root=str(ferplus_root), with_label=False)
    items = labels_by_name(unlabelled)

    assert sorted(items) == sorted(labels_by_name(labelled))
    for item in items.values():
        assert 'gt_label' not in item
        assert 'gt_score' not in item


def test_pipeline_packs_score(ferplus_root):
    dataset = DATASETS.build(
        dict(
            type='FERPlus',
            data_root=str(ferplus_root),
            label_mode='probability',
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='PackInputs')
            ]))
    sample = dataset[0]['data_samples']  # clear_happy.png

    assert tuple(dataset[0]['inputs'].shape) == (3, 48, 48)
    assert sample.gt_label.tolist() == [1]
    np.testing.assert_allclose(sample.gt_score.numpy(),
                               PROBABILITIES['clear_happy.png'])


@pytest.mark.parametrize('split', ['training', 'val', 'FER2013PublicTest'])
def test_invalid_split_lists_valid_values(ferplus_root, split):
    with pytest.raises(ValueError) as error:
        FERPlus(data_root=str(ferplus_root), split=split)

    message = str(error.value)
    assert f'split={split!r} is invalid' in message
    for valid in ('train', 'valid', 'test', 'FER2013Valid'):
        assert repr(valid) in message


def test_invalid_label_mode_lists_valid_values(ferplus_root):
    with pytest.raises(ValueError,
                       match=r"label_mode='soft' is invalid; use one of "
                       r"\['majority', 'probability'\]"):
        FERPlus(data_root=str(ferplus_root), label_mode='soft')


@pytest.mark.parametrize(
    'bad_line, fragment',
    [
        ('bad.png,"(0, 0, 48, 48)",1,2,3', 'has 5 columns'),
        (label_row('bad.png', (0, 0, 'x', 0, 0, 0, 0, 0, 0, 10)),
         'must be a non-negative integer'),
        (label_row('bad.png', (0, 0, -1, 0, 0, 0, 0, 0, 0, 10)),
         'must be a non-negative integer'),
        (label_row('bad.png', (10, ) + (0, ) * 9, box='0 0 48 48'),
         "face box '0 0 48 48' is invalid"),
        (label_row('', (10, ) + (0, ) * 9), 'empty image name'),
    ])
def test_malformed_row_names_file_and_row(ferplus_root, bad_line, fragment):
    csv_path = ferplus_root / 'FER2013Train' / 'label.csv'
    lines = csv_path.read_text().splitlines()
    lines.insert(4, bad_line)  # row 5
    csv_path.write_text('\n'.join(lines) + '\n')

    with pytest.raises(ValueError) as error:
        FERPlus(data_root=str(ferplus_root))

    message = str(error.value)
    assert f'{csv_path} row 5' in message
    assert fragment in message


def test_no_image_on_disk_raises(tmp_path):
    root = write_ferplus(
        tmp_path / 'ferplus', missing=[name for name, _ in ROWS])

    with pytest.raises(FileNotFoundError, match='none of the 12 images'):
        FERPlus(data_root=str(root))


def test_nothing_left_by_protocol_raises(tmp_path):
    rows = [('nf.png', (0, ) * 9 + (10, )), ('tie.png', (5, 5) + (0, ) * 8)]
    root = write_ferplus(tmp_path / 'ferplus', rows=rows)

    with pytest.raises(ValueError, match='no image of .* is left'):
        FERPlus(data_root=str(root))


def count_majority_labels(label_csv):
    """Count the FERPlus majority labels of ``label_csv`` in plain Python.

    Returns (duplicate rows, Counter of the vote column index of each
    image's outcome, with 8 standing for unknown).
    """
    seen = set()
    duplicates = 0
    outcomes = Counter()
    with open(label_csv, newline='') as file:
        for row in csv.reader(file):
            name = row[0]
            if name in seen:
                duplicates += 1
                continue
            seen.add(name)
            if not osp.isfile(osp.join(osp.dirname(label_csv), name)):
                continue
            votes = [int(v) if int(v) != 1 else 0 for v in row[2:]]
            top = max(votes)
            winner = votes.index(top)
            outcomes[winner if 2 * top > sum(votes) else 8] += 1
    return duplicates, outcomes


@requires_ferplus
def test_real_ferplus_test_majority():
    label_csv = FERPLUS_ROOT / 'FER2013Test' / 'label.csv'
    duplicates, outcomes = count_majority_labels(label_csv)
    dataset = FERPlus(data_root=str(FERPLUS_ROOT), split='test')

    assert duplicates == 1
    assert all(outcomes[i] > 0 for i in range(8))
    assert dataset.num_duplicates == 1
    assert dataset.num_rows == 3574
    assert dataset.num_missing == 0
    assert dataset.class_counts == [outcomes[i] for i in range(8)]
    assert len(dataset) == sum(outcomes[i] for i in range(8))
    assert dataset.dropped_counts == {
        'unknown': outcomes[8],
        'NF': outcomes[9]
    }
    assert Counter(dataset.get_gt_labels().tolist()) == {
        i: outcomes[i]
        for i in range(8) if outcomes[i]
    }
