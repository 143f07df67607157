# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.

import cv2
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from mmsimfle.datasets import AffectNet

HEADER = ('subDirectory_filePath,face_x,face_y,face_width,face_height,'
          'facial_landmarks,expression,valence,arousal')
LANDMARKS = ';'.join(['10.5'] * 136)  # 68 (x, y) points, unused
# (image, face box x y w h, expression code) of the tiny training.csv.
ROWS = [
    ('1/neutral.png', (2, 1, 6, 5), 0),
    ('1/happy_a.png', (0, 0, 12, 10), 1),
    ('1/happy_b.png', (0, 0, 12, 10), 1),
    ('2/sad.png', (0, 0, 12, 10), 2),
    ('2/surprise.png', (0, 0, 12, 10), 3),
    ('2/fear.png', (0, 0, 12, 10), 4),
    ('3/disgust.png', (0, 0, 12, 10), 5),
    ('3/anger.png', (0, 0, 12, 10), 6),
    ('3/contempt.png', (0, 0, 12, 10), 7),
    ('4/none_a.png', (0, 0, 12, 10), 8),
    ('4/none_b.png', (0, 0, 12, 10), 8),
    ('4/uncertain.png', (0, 0, 12, 10), 9),
    ('4/noface.png', (0, 0, 12, 10), 10),
]


def csv_row(path, box, code, valence='0.25', arousal='-0.5'):
    return ','.join([path, *map(str, box), LANDMARKS, str(code), valence,
                     arousal])


def write_affectnet(root, rows=ROWS, ann_file='training.csv', header=True):
    """Write an AffectNet tree with 12x10 PNG images and one CSV."""
    lines = [HEADER] if header else []
    for path, box, code in rows:
        lines.append(csv_row(path, box, code))
        image = root / 'Manually_Annotated_Images' / path
        image.parent.mkdir(parents=True, exist_ok=True)
        rows_index, cols_index = np.mgrid[:10, :12]  # each (10, 12)
        pixels = np.stack([rows_index, cols_index,
                           np.full_like(rows_index, code)],
                          axis=-1).astype(np.uint8)  # (10, 12, 3)
        cv2.imwrite(str(image), pixels)
    (root / ann_file).write_text('\n'.join(lines) + '\n')
    return root


@pytest.fixture
def affectnet_root(tmp_path):
    return write_affectnet(tmp_path / 'affectnet')



def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_eight_classes_keep_codes_0_to_7(affectnet_root, log_messages):
    dataset = AffectNet(data_root=str(affectnet_root), ann_file='training.csv')
    items = infos(dataset)

    assert len(dataset) == 9
    assert dataset.CLASSES == ('neutral', 'happy', 'sad', 'surprise', 'fear',
                               'disgust', 'anger', 'contempt')
    assert [item['gt_label'] for item in items] == [0, 1, 1, 2, 3, 4, 5, 6, 7]
    assert items[0]['img_path'] == str(
        affectnet_root / 'Manually_Annotated_Images' / '1' / 'neutral.png')
    assert items[0]['face_bbox'] == (2, 1, 6, 5)
    assert dataset.num_rows == 13
    assert dataset.excluded_counts == {8: 2, 9: 1, 10: 1}
    assert dataset.class_counts == [1, 2, 1, 1, 1, 1, 1, 1]
    message = next(m for m in log_messages if m.startswith('AffectNet'))
    assert 'read 13 rows' in message
    assert '2 None (8), 1 Uncertain (9), 1 No-Face (10)' in message
    assert 'kept 9 in 8 classes' in message
    assert 'happy 2' in message


def test_seven_classes_drop_contempt(affectnet_root, log_messages):
    dataset = AffectNet(
        data_root=str(affectnet_root), ann_file='training.csv', num_classes=7)

    assert len(dataset) == 8
    assert len(dataset.CLASSES) == 7
    assert 'contempt' not in dataset.CLASSES
    assert dataset.get_gt_labels().max() == 6
    assert dataset.excluded_counts == {7: 1, 8: 2, 9: 1, 10: 1}
    assert any('1 Contempt (7), 2 None (8)' in m for m in log_messages)


def test_invalid_num_classes_raises(affectnet_root):
    with pytest.raises(ValueError, match='num_classes=6 is invalid'):
        AffectNet(
            data_root=str(affectnet_root),
            ann_file='training.csv',
            num_classes=6)


def test_without_label_or_box(affectnet_root):
    dataset = AffectNet(
        data_root=str(affectnet_root),
        ann_file='training.csv',
        crop_face=False,
        with_label=False)

    assert len(dataset) == 9
    for item in infos(dataset):
        assert 'gt_label' not in item
        assert 'face_bbox' not in item


def test_csv_without_header(tmp_path):
    root = write_affectnet(
        tmp_path / 'affectnet', ann_file='validation.csv', header=False)
    dataset = AffectNet(data_root=str(root), ann_file='validation.csv')

    assert len(dataset) == 9
    assert dataset.num_rows == 13


def test_csv_with_byte_order_mark(affectnet_root):
    csv_path = affectnet_root / 'training.csv'
    csv_path.write_text('\ufeff' + csv_path.read_text(), encoding='utf-8')
    dataset = AffectNet(data_root=str(affectnet_root), ann_file='training.csv')

    assert len(dataset) == 9
    assert dataset.num_rows == 13


def test_pipeline_crops_face(affectnet_root):
    dataset = DATASETS.build(
        dict(
            type='AffectNet',
            data_root=str(affectnet_root),
            ann_file='training.csv',
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='CropFaceBox'),
            ]))
    results = dataset[0]  # neutral.png, box (2, 1, 6, 5)
    img = results['img']

    assert img.shape == (5, 6, 3)
    assert results['img_shape'] == (5, 6)
    assert (img[..., 0] == np.arange(1, 6)[:, None]).all()
    assert (img[..., 1] == np.arange(2, 8)[None, :]).all()
    assert results['gt_label'] == 0


@pytest.mark.parametrize(
    'bad_line, fragment',
    [
        ('1/x.png,0,0,12,10,0,0.1', 'has 7 columns'),
        (csv_row('1/x.png', (0, 0, 12, 10), 'happy'),
         "expression 'happy' is invalid; valid codes are the integers 0-10"),
        (csv_row('1/x.png', (0, 0, 12, 10), 11),
         "expression '11' is invalid"),
        (csv_row('1/x.png', (0, 0, 12, 10), -1),
         "expression '-1' is invalid"),
        (csv_row('1/x.png', (0, 0, 12.5, 10), 1), 'face box'),
        (csv_row('', (0, 0, 12, 10), 1), 'empty subDirectory_filePath'),
    ])
def test_malformed_row_names_file_and_row(affectnet_root, bad_line, fragment):
    csv_path = affectnet_root / 'training.csv'
    lines = csv_path.read_text().splitlines()
    lines.insert(3, bad_line)  # row 4: header, two rows, then this one
    csv_path.write_text('\n'.join(lines) + '\n')

    with pytest.raises(ValueError) as error:
        AffectNet(data_root=str(affectnet_root), ann_file='training.csv')

    message = str(error.value)
    assert f'{csv_path} row 4' in message
    assert fragment in message


def test_classes_argument_is_rejected(affectnet_root):
    with pytest.raises(ValueError, match='class names are fixed'):
        AffectNet(
            data_root=str(affectnet_root),
            ann_file='training.csv',
            classes=['a', 'b'])
