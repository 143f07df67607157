# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import os.path as osp
from typing import List, Tuple

from mmengine.logging import MMLogger
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

# Class names of the RAF-DB labels 1-7, in order. The class id is label - 1.
RAFDB_CLASSES = ('surprise', 'fear', 'disgust', 'happiness', 'sadness',
                 'anger', 'neutral')
SPLITS = ('train', 'test')
# The official file name, misspelling included.
DEFAULT_ANN_FILE = 'EmoLabel/list_patition_label.txt'


@DATASETS.register_module()
class RAFDB(BaseDataset):
    """The basic emotion set of RAF-DB in its official layout.

    ``data_root/EmoLabel/list_patition_label.txt`` lists one image per
    line, e.g. ``train_00001.jpg 5`` or ``test_0001.jpg 7``, with labels
    1-7: surprise, fear, disgust, happiness, sadness, anger, neutral. They
    become class ids 0-6 in that order. The split is the file-name prefix
    (``train_`` or ``test_``). Images are read from
    ``Image/aligned/train_00001_aligned.jpg`` or, with ``aligned=False``,
    from ``Image/original/train_00001.jpg``.

    Args:
        data_root (str): Root folder of RAF-DB's basic emotion set.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        aligned (bool): Whether to use the aligned 100x100 faces instead of
            the original images. Defaults to True.
        ann_file (str): The label list, relative to ``data_root``.
            Defaults to ``'EmoLabel/list_patition_label.txt'``.
        with_label (bool): Whether to add ``gt_label``. Set it to False for
            pretraining. Defaults to True.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``, e.g.
            ``pipeline``, ``indices`` and ``lazy_init``.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 aligned: bool = True,
                 ann_file: str = DEFAULT_ANN_FILE,
                 with_label: bool = True,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'RAFDB: split={split!r} is invalid; use one of '
                             f'{list(SPLITS)}')
        metainfo = kwargs.pop('metainfo', None) or {}
        if 'classes' in kwargs or 'classes' in metainfo:
            raise ValueError(
                'RAFDB: the class names are fixed by the labels 1-7 of the '
                'label list; do not pass classes')
        self.split = split
        self.aligned = aligned
        self.with_label = with_label
        super().__init__(
            ann_file=ann_file,
            metainfo={**metainfo, 'classes': RAFDB_CLASSES},
            data_root=data_root,
            data_prefix='Image/aligned' if aligned else 'Image/original',
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the label list, keep the lines of the split, log counts."""
        image_folder = self.img_prefix
        prefix = f'{self.split}_'
        class_counts = [0] * len(RAFDB_CLASSES)
        num_lines = 0
        data_list = []
        with open(self.ann_file, encoding='utf-8-sig') as file:
            for line_number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                num_lines += 1
                name, label = self._parse_line(line, line_number)
                if not name.startswith(prefix):
                    continue
                if self.aligned:
                    stem, extension = osp.splitext(name)
                    name = f'{stem}_aligned{extension}'
                class_counts[label] += 1
                info = dict(img_path=osp.join(image_folder, name))
                if self.with_label:
                    info['gt_label'] = label
                data_list.append(info)

        self.num_lines = num_lines
        self.class_counts = class_counts
        per_class = ', '.join(
            f'{name} {count}'
            for name, count in zip(RAFDB_CLASSES, class_counts))
        MMLogger.get_current_instance().info(
            f'RAFDB: {self.ann_file}: read {num_lines} lines, kept '
            f'{len(data_list)} of split {self.split!r} ({per_class})')
        if not data_list:
            raise ValueError(
                f'RAFDB: {self.ann_file} lists no image of split '
                f'{self.split!r} (no name starts with {prefix!r})')
        return data_list

    def _parse_line(self, line: str, line_number: int) -> Tuple[str, int]:
        """Return ``(image name, class id 0-6)`` of one label line."""
        where = f'RAFDB: {self.ann_file} line {line_number}'
        fields = line.split()
        if len(fields) != 2:
            raise ValueError(
                f'{where} is invalid: {line.strip()!r}; a valid line is '
                '"<image name> <label 1-7>", e.g. "train_00001.jpg 5"')
        name, label_text = fields
        if not name.startswith(tuple(f'{split}_' for split in SPLITS)):
            raise ValueError(
                f'{where}: image name {name!r} is invalid; it must start '
                'with "train_" or "test_"')
        try:
            label = int(label_text)
        except ValueError:
            label = None
        if label is None or not 1 <= label <= len(RAFDB_CLASSES):
            raise ValueError(
                f'{where}: label {label_text!r} is invalid; valid labels are '
                f'the integers 1-{len(RAFDB_CLASSES)}')
        return name, label - 1
