# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import csv
import os.path as osp
from typing import List

import numpy as np
from mmengine.logging import MMLogger
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .ferplus import (EMOTIONS, LABEL_MODES, NOT_A_FACE, UNKNOWN, VOTE_NAMES,
                      emotion_distribution, majority_vote)

# The Usage value of each split in both CSV files.
SPLIT_USAGE = {
    'train': 'Training',
    'valid': 'PublicTest',
    'test': 'PrivateTest',
}
IMAGE_SIDE = 48


@DATASETS.register_module()
class FER2013CSV(BaseDataset):
    """FERPlus read straight from ``fer2013.csv`` and ``fer2013new.csv``.

    ``fer2013.csv`` is the FER2013 challenge data: ``emotion,pixels,Usage``,
    with the pixels of a 48x48 grayscale face as 2,304 space-separated
    values. ``fer2013new.csv`` contains the FERPlus votes: ``Usage,Image
    name`` and the 10 vote counts. Both have one row per FER2013 image in
    the same order, so row i of one belongs to row i of the other, and every
    pair is checked to have the same Usage. FERPlus rows with an empty image
    name are the images that FERPlus dropped, and they are left out. Labels
    follow :class:`FERPlus` (same modes, classes and counts in the log). The
    pixels are kept in memory as ``img`` (uint8, 48x48), which
    ``LoadFaceImage`` accepts in place of a file.

    Args:
        data_root (str): Folder with both CSV files.
        split (str): ``'train'``, ``'valid'`` or ``'test'`` (Usage
            Training, PublicTest, PrivateTest). Defaults to ``'train'``.
        label_mode (str): ``'majority'`` or ``'probability'``.
        with_label (bool): Whether to add labels. Defaults to True.
        fer2013_file (str): Defaults to ``'fer2013.csv'``.
        ferplus_file (str): Defaults to ``'fer2013new.csv'``.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 label_mode: str = 'majority',
                 with_label: bool = True,
                 fer2013_file: str = 'fer2013.csv',
                 ferplus_file: str = 'fer2013new.csv',
                 **kwargs) -> None:
        if split not in SPLIT_USAGE:
            raise ValueError(f'FER2013CSV: split={split!r} is invalid; use '
                             f'one of {list(SPLIT_USAGE)}')
        if label_mode not in LABEL_MODES:
            raise ValueError(
                f'FER2013CSV: label_mode={label_mode!r} is invalid; use one '
                f'of {list(LABEL_MODES)}')
        self.usage = SPLIT_USAGE[split]
        self.label_mode = label_mode
        self.with_label = with_label
        self.fer2013_path = osp.join(data_root, fer2013_file)
        self.ferplus_path = osp.join(data_root, ferplus_file)
        super().__init__(
            ann_file=ferplus_file,
            metainfo={'classes': EMOTIONS},
            data_root=data_root,
            **kwargs)

    def _read(self, path: str) -> List[dict]:
        if not osp.isfile(path):
            raise FileNotFoundError(f'FER2013CSV: {path} not found')
        with open(path, newline='', encoding='utf-8-sig') as file:
            return list(csv.DictReader(file))

    def load_data_list(self) -> List[dict]:
        """Join the two CSV files row by row and apply the label protocol."""
        pixels_rows = self._read(self.fer2013_path)
        vote_rows = self._read(self.ferplus_path)
        if len(pixels_rows) != len(vote_rows):
            raise ValueError(
                f'FER2013CSV: {self.fer2013_path} has {len(pixels_rows)} '
                f'rows but {self.ferplus_path} has {len(vote_rows)}; both '
                'must list every FER2013 image in the same order')

        counts = dict(dropped_by_ferplus=0, unknown=0, NF=0,
                      no_emotion_vote=0)
        class_counts = [0] * len(EMOTIONS)
        data_list = []
        for index, (pixel_row, vote_row) in enumerate(
                zip(pixels_rows, vote_rows)):
            row_number = index + 2  # 1-based, after the header
            if pixel_row.get('Usage') != vote_row.get('Usage'):
                raise ValueError(
                    f'FER2013CSV: row {row_number} has Usage '
                    f'{pixel_row.get("Usage")!r} in {self.fer2013_path} but '
                    f'{vote_row.get("Usage")!r} in {self.ferplus_path}; the '
                    'files do not belong together')
            if vote_row['Usage'] != self.usage:
                continue
            if not (vote_row.get('Image name') or '').strip():
                counts['dropped_by_ferplus'] += 1
                continue
            try:
                votes = np.array([int(vote_row[name]) for name in VOTE_NAMES])
            except (KeyError, TypeError, ValueError):
                raise ValueError(
                    f'FER2013CSV: {self.ferplus_path} row {row_number}: '
                    f'expected integer counts in the columns {VOTE_NAMES}'
                ) from None

            score = None
            if self.label_mode == 'majority':
                label = majority_vote(votes)
                if label in (UNKNOWN, NOT_A_FACE):
                    counts[VOTE_NAMES[label]] += 1
                    continue
            else:
                score = emotion_distribution(votes)
                if score is None:
                    counts['no_emotion_vote'] += 1
                    continue
                label = int(np.argmax(score))

            info = dict(
                img=self._decode(pixel_row.get('pixels', ''), row_number),
                img_path=None,
                image_name=vote_row['Image name'].strip())
            if self.with_label:
                info['gt_label'] = label
                if score is not None:
                    info['gt_score'] = score
            class_counts[label] += 1
            data_list.append(info)

        self.class_counts = class_counts
        self.dropped_counts = counts
        per_class = ', '.join(
            f'{name} {count}' for name, count in zip(EMOTIONS, class_counts))
        MMLogger.get_current_instance().info(
            f'FER2013CSV ({self.usage}, {self.label_mode}): left out '
            f'{counts["dropped_by_ferplus"]} images without a FERPlus name, '
            f'{counts["unknown"]} unknown, {counts["NF"]} NF, '
            f'{counts["no_emotion_vote"]} without an emotion vote; kept '
            f'{len(data_list)} ({per_class})')
        if not data_list:
            raise ValueError(
                f'FER2013CSV: no image of Usage {self.usage!r} is left in '
                f'{self.ferplus_path}')
        return data_list

    def _decode(self, pixels: str, row_number: int) -> np.ndarray:
        """Turn the pixel string of one row into a uint8 (48, 48) image."""
        try:
            values = np.array(pixels.split(), dtype=np.int64)
        except ValueError:
            values = np.array([])
        if values.size != IMAGE_SIDE * IMAGE_SIDE or (
                values.size and (values.min() < 0 or values.max() > 255)):
            raise ValueError(
                f'FER2013CSV: {self.fer2013_path} row {row_number}: expected '
                f'{IMAGE_SIDE * IMAGE_SIDE} pixel values in 0-255, got '
                f'{values.size} values')
        return values.astype(np.uint8).reshape(IMAGE_SIDE, IMAGE_SIDE)
