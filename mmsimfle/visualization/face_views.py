# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Find image files and load them as SimFLE face views.

The face view pipeline is taken from the training config: the loader
before the ``MultiView`` transform followed by the last transform list of
``MultiView`` (SimFLE's face view, after the two global views).
"""
import copy
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmcv.transforms import Compose
from mmpretrain.registry import TRANSFORMS

from .mask_panels import unwrap_model

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')


def find_images(paths: Sequence[str],
                extensions: Sequence[str] = IMAGE_EXTENSIONS) -> List[str]:
    """Expand files and folders into a list of image files.

    Files are taken as given; folders are searched recursively for files
    with one of ``extensions`` (case-insensitive), in sorted path order.

    Raises:
        FileNotFoundError: A path does not exist, a folder contains no image,
            or ``paths`` is empty.
    """
    extensions = tuple(ext.lower() for ext in extensions)
    found: List[str] = []
    for path in paths:
        if osp.isfile(path):
            found.append(path)
        elif osp.isdir(path):
            images = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                images.extend(
                    osp.join(root, name) for name in sorted(files)
                    if name.lower().endswith(extensions))
            if not images:
                raise FileNotFoundError(
                    f'no image files ({", ".join(extensions)}) found in '
                    f'folder {path!r}')
            found.extend(images)
        else:
            raise FileNotFoundError(f'image path {path!r} not found')
    if not found:
        raise FileNotFoundError('no image files or folders were given')
    return found


def dataset_pipeline(dataset_cfg: dict) -> list:
    """Return the pipeline of a dataset config, looking into wrappers.

    Dataset wrappers such as ``RepeatDataset`` keep the pipeline in
    ``dataset``; ``ConcatDataset`` in ``datasets`` (the first is used).
    """
    cfg = dataset_cfg
    while cfg is not None:
        if cfg.get('pipeline') is not None:
            return list(cfg['pipeline'])
        if cfg.get('dataset') is not None:
            cfg = cfg['dataset']
        elif cfg.get('datasets'):
            cfg = cfg['datasets'][0]
        else:
            cfg = None
    raise ValueError('the training dataset config has no pipeline')


def type_name(transform_cfg: dict) -> str:
    """Return the transform type of a config without its scope prefix."""
    name = transform_cfg.get('type', '')
    name = name if isinstance(name, str) else name.__name__
    return name.split('.')[-1]


def face_view_pipeline_cfg(pipeline: Sequence[dict]) -> List[dict]:
    """Pick the face view transforms out of SimFLE's training pipeline.

    Args:
        pipeline (Sequence[dict]): The training pipeline, e.g.
            ``[LoadFaceImage, MultiView(num_views=[2, 1], ...),
            PackInputs]``.

    Returns:
        list[dict]: The transforms before ``MultiView`` (the image loader)
        followed by the transforms of its last view, SimFLE's face view.
        Copies, so the caller may change them.
    """
    names = [type_name(t) for t in pipeline]
    if 'MultiView' not in names or names.index('MultiView') == 0:
        raise ValueError(
            'expected a SimFLE training pipeline with an image loader and '
            'then MultiView (two global views, then the face view), got '
            f'{names}')
    position = names.index('MultiView')
    face_transforms = pipeline[position]['transforms'][-1]
    return copy.deepcopy(list(pipeline[:position]) + list(face_transforms))


def build_face_view_pipeline(pipeline: Sequence[dict]) -> Compose:
    """Build the face view pipeline from SimFLE's training pipeline config.

    A transform with an ``on_error`` option, such as ``LoadFaceImage``, is
    set to ``'raise'``, so an unreadable file raises with its reason
    instead of being skipped.

    NOTE: the transforms run as configured. SimFLE's configs use only
    ``ResizeEdge`` and ``CenterCrop`` for the face view, so the result is
    deterministic; a random transform there would differ between calls.
    """
    transform_cfgs = face_view_pipeline_cfg(pipeline)
    for cfg in transform_cfgs:
        if 'on_error' in cfg:
            cfg['on_error'] = 'raise'
    return Compose([TRANSFORMS.build(cfg) for cfg in transform_cfgs])


def load_face_views(samples: Sequence[Union[str, dict]],
                    pipeline: Compose,
                    size: Optional[int] = None) -> torch.Tensor:
    """Load images through the face view pipeline.

    Args:
        samples (Sequence[str | dict]): Image files, or data infos of a
            data set (``img_path`` and optional keys such as the
            ``face_bbox`` that ``CropFaceBox`` crops to).
        pipeline (Compose): From :func:`build_face_view_pipeline`.
        size (int, optional): Expected side of the face views, e.g.
            ``mask_generator.img_size``; a mismatch raises ValueError.

    Returns:
        torch.Tensor: uint8 (N, 3, S, S) in the loader's channel order
        (BGR for ``LoadFaceImage`` and mmcv's ``LoadImageFromFile``).
    """
    views = []
    for sample in samples:
        info = dict(img_path=sample) if isinstance(sample, str) else dict(
            sample)
        path = info.get('img_path')
        try:
            results = pipeline(copy.deepcopy(info))
        except Exception as error:
            raise ValueError(
                f'failed to load {path!r} as a face view: {error}') from error
        if results is None or results.get('img') is None:
            raise ValueError(f'failed to load {path!r} as a face view')
        image = np.ascontiguousarray(results['img'])  # (S, S, 3)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f'{path!r} gave a face view of shape {image.shape}; expected '
                '(S, S, 3), so load images with color_type="color"')
        if size is not None and image.shape[:2] != (size, size):
            raise ValueError(
                f'{path!r} gave a {image.shape[0]}x{image.shape[1]} face view '
                f'but the model expects {size}x{size}; check the face view '
                'transforms of the MultiView in the training pipeline')
        views.append(torch.from_numpy(image).permute(2, 0, 1))  # (3, S, S)
    shapes = {tuple(view.shape) for view in views}
    if len(shapes) > 1:
        raise ValueError(
            f'the face views have different shapes {sorted(shapes)}; make the '
            'face view pipeline crop to one size')
    return torch.stack(views)  # (N, 3, S, S)


def preprocess_face_views(model: nn.Module,
                          images: torch.Tensor) -> torch.Tensor:
    """Normalise uint8 (N, 3, S, S) face views with the model's preprocessor.

    Returns:
        torch.Tensor: float (N, 3, S, S) on the model's device, with the
        channel conversion and normalisation of the data preprocessor.
    """
    data = unwrap_model(model).data_preprocessor(
        dict(inputs=images, data_samples=None), training=False)
    return data['inputs']
