# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger
from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS

FALLBACK_CHOICES = ('skimage_lfw_subset', )
# scikit-image's ``lfw_subset`` contains 100 faces followed by 100 non-faces.
LFW_SUBSET_FACES = 100


def default_fallback_dir() -> str:
    """Return the folder where fallback face images are written."""
    cache_home = os.environ.get('XDG_CACHE_HOME',
                                osp.join(osp.expanduser('~'), '.cache'))
    return osp.join(cache_home, 'mmsimfle', 'skimage_lfw_subset')


def write_lfw_subset_faces(folder: str) -> int:
    """Write the 100 LFW faces (25x25) of scikit-image as PNG files.

    Returns the number of images in ``folder`` afterwards. Files already
    there are kept, so repeated runs reuse them.
    """
    try:
        from skimage.data import lfw_subset
    except ImportError as error:
        raise ImportError(
            'the skimage_lfw_subset fallback needs scikit-image; run '
            '"pip install scikit-image" or point data_root at a face '
            'folder') from error
    import cv2

    os.makedirs(folder, exist_ok=True)
    faces = lfw_subset()[:LFW_SUBSET_FACES]  # (100, 25, 25), float in [0, 1]
    for index, face in enumerate(faces):
        path = osp.join(folder, f'lfw_face_{index:03d}.png')
        if not osp.exists(path):
            pixels = np.clip(np.rint(face * 255), 0, 255).astype(np.uint8)
            # Write, then rename: processes of a distributed run may fill
            # the folder at the same time and must never read half a file.
            # The partial name has no image extension, so no scan lists it.
            partial = f'{path}.{os.getpid()}.partial'
            ok, encoded = cv2.imencode('.png', pixels)
            if not ok:
                raise RuntimeError(f'failed to encode {path} as PNG')
            with open(partial, 'wb') as file:
                file.write(encoded.tobytes())
            os.replace(partial, path)
    return len(faces)


@DATASETS.register_module()
class FaceImageFolder(CustomDataset):
    """Unlabelled face images found recursively under a folder.

    Every file under ``data_root/data_prefix`` (sub-folders included) whose
    extension is in ``extensions`` is one sample; other files, such as
    annotation CSVs, are ignored. Use it for pretraining on AffectNet,
    FERPlus or any face crop folder.

    Args:
        data_root (str): Root folder of the data set.
        data_prefix (str): Sub-folder of ``data_root`` to scan.
            Defaults to ``''``.
        extensions (Sequence[str]): Image file extensions, case-insensitive.
            Defaults to ``('.jpg', '.jpeg', '.png')``.
        fallback (str, optional): What to train on when the folder does not
            exist. ``'skimage_lfw_subset'`` writes the 100 LFW faces that
            ship with scikit-image to ``fallback_dir`` and uses them, with a
            warning in the log; None raises FileNotFoundError.
            Defaults to None.
        fallback_dir (str, optional): Folder for the fallback images.
            Defaults to ``$XDG_CACHE_HOME/mmsimfle/skimage_lfw_subset``.
        **kwargs: Other arguments of mmengine's ``BaseDataset``, e.g.
            ``pipeline`` and ``indices`` (an int N keeps the first N
            images, in sorted path order).
    """

    def __init__(self,
                 data_root: str = '',
                 data_prefix: str = '',
                 extensions: Sequence[str] = ('.jpg', '.jpeg', '.png'),
                 fallback: Optional[str] = None,
                 fallback_dir: Optional[str] = None,
                 **kwargs) -> None:
        if fallback is not None and fallback not in FALLBACK_CHOICES:
            raise ValueError(
                f'FaceImageFolder: fallback={fallback!r} is not supported; '
                f'use one of {FALLBACK_CHOICES} or None')
        folder = osp.join(data_root, data_prefix)
        if not osp.isdir(folder):
            if fallback is None:
                raise FileNotFoundError(
                    f'FaceImageFolder: image folder {folder!r} not found '
                    f'(data_root={data_root!r}, data_prefix={data_prefix!r}); '
                    'set train_dataloader.dataset.data_root to your face '
                    'image folder, e.g. with tools/train.py --data-root')
            fallback_dir = fallback_dir or default_fallback_dir()
            count = write_lfw_subset_faces(fallback_dir)
            MMLogger.get_current_instance().warning(
                f'FaceImageFolder: image folder {folder!r} not found, so '
                f'training falls back to the {count} LFW faces (25x25) that '
                f'ship with scikit-image, written to {fallback_dir}. Point '
                '--data-root at a folder of face images (e.g. FERPlus) for '
                'real training.')
            data_root, data_prefix = fallback_dir, ''
        self.folder = osp.join(data_root, data_prefix)
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            with_label=False,
            extensions=extensions,
            **kwargs)

    def load_data_list(self) -> list:
        """Scan the folder; remember how many images it holds."""
        data_list = super().load_data_list()
        self.num_found = len(data_list)
        return data_list

    def full_init(self) -> None:
        """Scan the folder and log how many images are used."""
        if self._fully_initialized:
            return
        super().full_init()
        MMLogger.get_current_instance().info(
            f'FaceImageFolder: using {len(self)} of {self.num_found} images '
            f'found under {self.folder}')
