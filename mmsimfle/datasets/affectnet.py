# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import csv
import os.path as osp
from collections import Counter
from typing import List

from mmengine.logging import MMLogger
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

# Names of the 11 expression codes of AffectNet's ``expression`` column.
EXPRESSION_NAMES = ('Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust',
                    'Anger', 'Contempt', 'None', 'Uncertain', 'No-Face')
CSV_COLUMNS = ('subDirectory_filePath', 'face_x', 'face_y', 'face_width',
               'face_height', 'facial_landmarks', 'expression', 'valence',
               'arousal')
EXPRESSION_COLUMN = CSV_COLUMNS.index('expression')


@DATASETS.register_module()
class AffectNet(BaseDataset):
    """AffectNet in its official layout, read from ``training.csv`` or
    ``validation.csv``.

    Each CSV row is one face: ``subDirectory_filePath`` (relative to
    ``data_root/data_prefix``), the face box ``face_x, face_y, face_width,
    face_height`` in pixels, ``facial_landmarks``, ``expression`` (0-10),
    ``valence`` and ``arousal``. A first row whose first cell is
    ``subDirectory_filePath`` is read as the header. Expression codes 8
    (None), 9 (Uncertain) and 10 (No-Face) are left out, and so is code 7
    (Contempt) when ``num_classes=7``. The number left out per code is
    logged. The same rows are kept with and without labels.

    The class ids are the expression codes: 0 neutral, 1 happy, 2 sad,
    3 surprise, 4 fear, 5 disgust, 6 anger and 7 contempt.

    Args:
        data_root (str): Root folder of AffectNet.
        ann_file (str): The CSV file, relative to ``data_root``, e.g.
            ``'training.csv'`` or ``'validation.csv'``.
        data_prefix (str): Image folder, relative to ``data_root``.
            Defaults to ``'Manually_Annotated_Images'``.
        num_classes (int): 8 keeps contempt; 7 leaves it out.
            Defaults to 8.
        crop_face (bool): Whether to put the CSV face box into each data
            info as ``face_bbox = (x, y, w, h)``, so that the
            ``CropFaceBox`` transform crops the face. Set it to False for
            images that are already face crops. Defaults to True.
        with_label (bool): Whether to add ``gt_label``. Set it to False for
            pretraining. Defaults to True.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``, e.g.
            ``pipeline``, ``indices`` and ``lazy_init``.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str,
                 data_prefix: str = 'Manually_Annotated_Images',
                 num_classes: int = 8,
                 crop_face: bool = True,
                 with_label: bool = True,
                 **kwargs) -> None:
        if num_classes not in (7, 8):
            raise ValueError(
                f'AffectNet: num_classes={num_classes!r} is invalid; use 8 '
                '(with contempt) or 7 (without contempt)')
        metainfo = kwargs.pop('metainfo', None) or {}
        if 'classes' in kwargs or 'classes' in metainfo:
            raise ValueError(
                'AffectNet: the class names are fixed by the expression '
                'codes; do not pass classes, choose num_classes=7 or 8')
        classes = tuple(name.lower()
                        for name in EXPRESSION_NAMES[:num_classes])
        self.num_classes = num_classes
        self.crop_face = crop_face
        self.with_label = with_label
        super().__init__(
            ann_file=ann_file,
            metainfo={**metainfo, 'classes': classes},
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the CSV, leave out the non-class codes and log the counts."""
        image_folder = self.img_prefix
        data_list = []
        excluded_per_code = Counter()
        kept_per_code = Counter()
        num_rows = 0
        with open(self.ann_file, newline='', encoding='utf-8-sig') as file:
            for row_number, row in enumerate(csv.reader(file), start=1):
                if not row:
                    continue  # A blank line, e.g. at the end of the file.
                if row_number == 1 and row[0].strip() == CSV_COLUMNS[0]:
                    continue
                num_rows += 1
                path, box, code = self._parse_row(row, row_number)
                # Codes 8-10 (None, Uncertain, No-Face) are never a class,
                # and 7 (Contempt) is one only when num_classes=8.
                if code >= self.num_classes:
                    excluded_per_code[code] += 1
                    continue
                kept_per_code[code] += 1
                info = dict(img_path=osp.join(image_folder, path))
                if self.crop_face:
                    info['face_bbox'] = box
                if self.with_label:
                    info['gt_label'] = code
                data_list.append(info)

        self.num_rows = num_rows
        self.excluded_counts = dict(sorted(excluded_per_code.items()))
        self.class_counts = [
            kept_per_code[index] for index in range(self.num_classes)
        ]
        self._log_counts(len(data_list))
        return data_list

    def _parse_row(self, row: List[str], row_number: int) -> tuple:
        """Return ``(path, (x, y, w, h), expression)`` of one CSV row."""
        where = f'AffectNet: {self.ann_file} row {row_number}'
        if len(row) != len(CSV_COLUMNS):
            raise ValueError(
                f'{where} has {len(row)} columns; a valid row has '
                f'{len(CSV_COLUMNS)}: {", ".join(CSV_COLUMNS)}')
        path = row[0].strip()
        if not path:
            raise ValueError(f'{where} has an empty subDirectory_filePath')
        try:
            box = tuple(int(value) for value in row[1:5])
        except ValueError:
            box = None
        if box is None:
            raise ValueError(
                f'{where}: the face box {row[1:5]} is invalid; face_x, '
                'face_y, face_width and face_height must be integers')
        try:
            code = int(row[EXPRESSION_COLUMN])
        except ValueError:
            code = None
        if code is None or not 0 <= code < len(EXPRESSION_NAMES):
            raise ValueError(
                f'{where}: expression {row[EXPRESSION_COLUMN]!r} is invalid; '
                f'valid codes are the integers 0-{len(EXPRESSION_NAMES) - 1}')
        return path, box, code

    def _log_counts(self, num_kept: int) -> None:
        excluded = ', '.join(
            f'{count} {EXPRESSION_NAMES[code]} ({code})'
            for code, count in self.excluded_counts.items()) or 'none'
        per_class = ', '.join(
            f'{name} {count}'
            for name, count in zip(self.CLASSES, self.class_counts))
        MMLogger.get_current_instance().info(
            f'AffectNet: {self.ann_file}: read {self.num_rows} rows, left '
            f'out {excluded}, kept {num_kept} in {self.num_classes} '
            f'classes ({per_class})')
