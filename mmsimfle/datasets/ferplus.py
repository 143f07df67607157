# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import csv
import os.path as osp
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import MMLogger
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

# Vote columns of label.csv, in file order.
VOTE_NAMES = ('neutral', 'happiness', 'surprise', 'sadness', 'anger',
              'disgust', 'fear', 'contempt', 'unknown', 'NF')
EMOTIONS = VOTE_NAMES[:8]
UNKNOWN = VOTE_NAMES.index('unknown')
NOT_A_FACE = VOTE_NAMES.index('NF')
SPLIT_FOLDERS = {
    'train': 'FER2013Train',
    'valid': 'FER2013Valid',
    'test': 'FER2013Test',
}
LABEL_MODES = ('majority', 'probability')
# label.csv columns: image name, face box string, then the 10 vote counts.
NUM_COLUMNS = 2 + len(VOTE_NAMES)
BOX_PATTERN = re.compile(
    r'^\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)$')


def remove_single_votes(votes: np.ndarray) -> np.ndarray:
    """Return a copy of ``votes`` (10,) with every count of exactly 1 set to 0.

    The FERPlus authors treat a category that only one of the 10 annotators
    chose as an outlier.
    """
    votes = votes.copy()
    votes[votes == 1] = 0
    return votes


def majority_vote(votes: np.ndarray) -> int:
    """Return the majority category of one image's 10 vote counts.

    After single-vote outlier removal, the category with the largest count
    (the first one on ties) wins if it has more than half of the remaining
    votes. Otherwise the result is ``UNKNOWN``, as it also is when no vote
    is left. The result indexes ``VOTE_NAMES``, so it may be ``UNKNOWN`` or
    ``NOT_A_FACE``.
    """
    votes = remove_single_votes(votes)
    winner = int(np.argmax(votes))  # argmax returns the first maximum.
    if 2 * votes[winner] > votes.sum():
        return winner
    return UNKNOWN


def emotion_distribution(votes: np.ndarray) -> Optional[np.ndarray]:
    """Return the 8 emotion counts normalised to sum 1, float32 (8,).

    Single votes are removed first. The unknown and NF counts are not used.
    Returns None when no emotion vote is left.
    """
    emotion_votes = remove_single_votes(votes)[:len(EMOTIONS)]
    total = emotion_votes.sum()
    if total == 0:
        return None
    return (emotion_votes / total).astype(np.float32)


def split_folder(split: str) -> str:
    """Return the FERPlus folder name of ``split``."""
    if split in SPLIT_FOLDERS:
        return SPLIT_FOLDERS[split]
    if split in SPLIT_FOLDERS.values():
        return split
    valid = list(SPLIT_FOLDERS) + list(SPLIT_FOLDERS.values())
    raise ValueError(
        f'FERPlus: split={split!r} is invalid; use one of {valid}')


@DATASETS.register_module()
class FERPlus(BaseDataset):
    """FERPlus in the folder layout of Microsoft's FERPlus generator.

    ``data_root/FER2013Train``, ``FER2013Valid`` and ``FER2013Test`` each
    contain the 48x48 images and a ``label.csv`` without header. A row of
    ``label.csv`` has the image name and a face box string such as
    ``"(0, 0, 48, 48)"``. The vote counts of neutral, happiness, surprise,
    sadness, anger, disgust, fear, contempt, unknown and NF (not a face)
    follow.

    Label modes, both after setting every count of exactly 1 to 0:

    - ``'majority'`` (the FERPlus authors' protocol): the category with the
      largest count is the label if it has more than half of the remaining
      votes, otherwise the image is unknown. Images whose label is unknown
      or NF are left out.
    - ``'probability'``: ``gt_score`` contains the 8 emotion counts normalised
      to sum 1 (float32, shape (8,)) and ``gt_label`` its argmax, the first
      class on ties. Images with no emotion vote left are left out.

    The 8 classes are neutral, happiness, surprise, sadness, anger, disgust,
    fear and contempt, with ids 0-7 in that order. Of an image name listed
    twice, only the first row is used. Rows whose image file is missing are
    skipped. All these counts are logged. With ``with_label=False`` the same
    images are kept, without ``gt_label`` and ``gt_score``.

    Args:
        data_root (str): Folder that contains ``FER2013Train`` and the
            other split folders.
        split (str): ``'train'``, ``'valid'`` or ``'test'``, or the folder
            name, e.g. ``'FER2013Test'``. Defaults to ``'train'``.
        label_mode (str): ``'majority'`` or ``'probability'``.
            Defaults to ``'majority'``.
        with_label (bool): Whether to add labels. Set it to False for
            pretraining. Defaults to True.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``, e.g.
            ``pipeline``, ``indices`` and ``lazy_init``.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 label_mode: str = 'majority',
                 with_label: bool = True,
                 **kwargs) -> None:
        folder = split_folder(split)
        if label_mode not in LABEL_MODES:
            raise ValueError(
                f'FERPlus: label_mode={label_mode!r} is invalid; use one of '
                f'{list(LABEL_MODES)}')
        metainfo = kwargs.pop('metainfo', None) or {}
        if 'classes' in kwargs or 'classes' in metainfo:
            raise ValueError(
                'FERPlus: the class names are fixed by the label.csv vote '
                'columns; do not pass classes')
        self.split = folder
        self.label_mode = label_mode
        self.with_label = with_label
        super().__init__(
            ann_file=osp.join(folder, 'label.csv'),
            metainfo={**metainfo, 'classes': EMOTIONS},
            data_root=data_root,
            data_prefix=folder,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read label.csv, apply the label protocol and log the counts."""
        rows = self._read_unique_rows()
        image_folder = self.img_prefix
        missing = 0
        if self.label_mode == 'majority':
            dropped = {'unknown': 0, 'NF': 0}
        else:
            dropped = {'no emotion vote': 0}
        class_counts = [0] * len(EMOTIONS)
        data_list = []
        for name, votes in rows:
            img_path = osp.join(image_folder, name)
            if not osp.isfile(img_path):
                missing += 1
                continue
            if self.label_mode == 'majority':
                label = majority_vote(votes)
                if label in (UNKNOWN, NOT_A_FACE):
                    dropped[VOTE_NAMES[label]] += 1
                    continue
                score = None
            else:
                score = emotion_distribution(votes)
                if score is None:
                    dropped['no emotion vote'] += 1
                    continue
                label = int(np.argmax(score))
            class_counts[label] += 1
            info = dict(img_path=img_path)
            if self.with_label:
                info['gt_label'] = label
                if score is not None:
                    info['gt_score'] = score
            data_list.append(info)

        self.num_missing = missing
        self.dropped_counts = dict(dropped)
        self.class_counts = class_counts
        self._log_counts(len(data_list))
        if rows and missing == len(rows):
            raise FileNotFoundError(
                f'FERPlus: none of the {len(rows)} images listed in '
                f'{self.ann_file} exists in {image_folder}; check that '
                'data_root points at the FERPlus folder with the images')
        if not data_list:
            raise ValueError(
                f'FERPlus: no image of {self.ann_file} is left: read '
                f'{self.num_rows} rows, {missing} image files missing, '
                f'{sum(dropped.values())} left out by the {self.label_mode} '
                'label protocol')
        return data_list

    def _read_unique_rows(self) -> List[Tuple[str, np.ndarray]]:
        """Return ``(image name, votes (10,))`` of each first-listed name."""
        rows = []
        seen = set()
        num_rows = 0
        with open(self.ann_file, newline='', encoding='utf-8-sig') as file:
            for row_number, row in enumerate(csv.reader(file), start=1):
                if not row:
                    continue  # A blank line, e.g. at the end of the file.
                num_rows += 1
                name, votes = self._parse_row(row, row_number)
                # A name listed twice is the same picture in two FER2013
                # rows. Keeping the first row is deterministic.
                if name in seen:
                    continue
                seen.add(name)
                rows.append((name, votes))
        self.num_rows = num_rows
        self.num_duplicates = num_rows - len(rows)
        return rows

    def _parse_row(self, row: Sequence[str],
                   row_number: int) -> Tuple[str, np.ndarray]:
        where = f'FERPlus: {self.ann_file} row {row_number}'
        if len(row) != NUM_COLUMNS:
            raise ValueError(
                f'{where} has {len(row)} columns; a valid row has '
                f'{NUM_COLUMNS}: image name, face box "(x, y, w, h)", then '
                f'the vote counts of {", ".join(VOTE_NAMES)}')
        name = row[0].strip()
        if not name:
            raise ValueError(f'{where} has an empty image name')
        if not BOX_PATTERN.match(row[1].strip()):
            raise ValueError(
                f'{where}: face box {row[1]!r} is invalid; expected a string '
                'such as "(0, 0, 48, 48)"')
        try:
            votes = np.array([int(value) for value in row[2:]],
                             dtype=np.int64)  # (10,)
        except ValueError:
            votes = None
        if votes is None or (votes < 0).any():
            raise ValueError(
                f'{where}: vote counts {row[2:]} are invalid; each of '
                f'{", ".join(VOTE_NAMES)} must be a non-negative integer')
        return name, votes

    def _log_counts(self, num_kept: int) -> None:
        dropped = ', '.join(f'{count} as {reason}'
                            for reason, count in self.dropped_counts.items())
        per_class = ', '.join(
            f'{name} {count}'
            for name, count in zip(EMOTIONS, self.class_counts))
        MMLogger.get_current_instance().info(
            f'FERPlus: {self.ann_file} ({self.label_mode}): read '
            f'{self.num_rows} rows, dropped {self.num_duplicates} duplicate '
            f'names, skipped {self.num_missing} missing image files, dropped '
            f'{dropped or "none"} by the label protocol, kept {num_kept} '
            f'({per_class})')
