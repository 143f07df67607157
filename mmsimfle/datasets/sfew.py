# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import os
import os.path as osp
from typing import List, Sequence

from mmengine.logging import MMLogger
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

# Class folders of SFEW 2.0, in label order (alphabetical).
CLASS_FOLDERS = ('Angry', 'Disgust', 'Fear', 'Happy', 'Neutral', 'Sad',
                 'Surprise')
SFEW_CLASSES = tuple(folder.lower() for folder in CLASS_FOLDERS)
SPLIT_FOLDERS = {'train': 'Train', 'val': 'Val'}


@DATASETS.register_module()
class SFEW(BaseDataset):
    """SFEW 2.0 with one folder per class.

    ``data_root/Train`` and ``data_root/Val`` each hold the class folders
    Angry, Disgust, Fear, Happy, Neutral, Sad and Surprise. Their images
    have class ids 0-6 in that alphabetical order. Every class folder must
    exist, and other folders are ignored with a warning. Images are the files
    directly in a class folder whose extension is in ``extensions``. The
    per-class counts are logged.

    Args:
        data_root (str): Folder that contains ``Train`` and ``Val``.
        split (str): ``'train'`` or ``'val'``, or the folder name ``'Train'``
            or ``'Val'``. Defaults to ``'train'``.
        extensions (Sequence[str]): Image file extensions,
            case-insensitive. Defaults to ``('.jpg', '.png')``.
        with_label (bool): Whether to add ``gt_label``. Set it to False for
            pretraining. Defaults to True.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``, e.g.
            ``pipeline``, ``indices`` and ``lazy_init``.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 extensions: Sequence[str] = ('.jpg', '.png'),
                 with_label: bool = True,
                 **kwargs) -> None:
        if split in SPLIT_FOLDERS:
            folder = SPLIT_FOLDERS[split]
        elif split in SPLIT_FOLDERS.values():
            folder = split
        else:
            valid = list(SPLIT_FOLDERS) + list(SPLIT_FOLDERS.values())
            raise ValueError(
                f'SFEW: split={split!r} is invalid; use one of {valid}')
        metainfo = kwargs.pop('metainfo', None) or {}
        if 'classes' in kwargs or 'classes' in metainfo:
            raise ValueError(
                'SFEW: the class names are fixed by the class folders; do '
                'not pass classes')
        self.split = folder
        self.extensions = tuple(extension.lower() for extension in extensions)
        self.with_label = with_label
        super().__init__(
            ann_file='',
            metainfo={**metainfo, 'classes': SFEW_CLASSES},
            data_root=data_root,
            data_prefix=folder,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """List the images of every class folder and log the counts."""
        split_root = self.img_prefix
        if not osp.isdir(split_root):
            raise FileNotFoundError(
                f'SFEW: split folder {split_root!r} not found; data_root '
                'must contain the Train and Val folders of SFEW 2.0')
        missing = [folder for folder in CLASS_FOLDERS
                   if not osp.isdir(osp.join(split_root, folder))]
        if missing:
            raise ValueError(
                f'SFEW: class folder(s) {missing} not found in {split_root}; '
                f'{self.split} must contain {list(CLASS_FOLDERS)}')
        logger = MMLogger.get_current_instance()
        others = sorted(
            entry for entry in os.listdir(split_root)
            if osp.isdir(osp.join(split_root, entry))
            and entry not in CLASS_FOLDERS)
        if others:
            logger.warning(f'SFEW: ignoring the folders {others} in '
                           f'{split_root}; they are not SFEW classes')

        data_list = []
        class_counts = []
        for label, folder in enumerate(CLASS_FOLDERS):
            class_root = osp.join(split_root, folder)
            names = sorted(
                name for name in os.listdir(class_root)
                if osp.splitext(name)[1].lower() in self.extensions
                and osp.isfile(osp.join(class_root, name)))
            class_counts.append(len(names))
            for name in names:
                info = dict(img_path=osp.join(class_root, name))
                if self.with_label:
                    info['gt_label'] = label
                data_list.append(info)

        self.class_counts = class_counts
        per_class = ', '.join(
            f'{name} {count}'
            for name, count in zip(SFEW_CLASSES, class_counts))
        logger.info(f'SFEW: {len(data_list)} images in {split_root} '
                    f'({per_class})')
        if not data_list:
            raise ValueError(
                f'SFEW: no image with extension {list(self.extensions)} '
                f'found in the class folders of {split_root}')
        return data_list
