# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Draw SimFLE's semantic masks and FaceMAE reconstructions of face images.

Run as ``python tools/analysis_tools/visualize_masks.py CONFIG CHECKPOINT
IMAGES...``. Images are loaded with the face view pipeline of the config's
training pipeline and drawn in batches, one PNG grid per batch
(``mask_grid_000.png``, ...). With ``--groups-grid`` the tool also writes
the activation maps of all channel groups of each image
(``group_maps_000_<name>.png``).
"""
import argparse
import os
import os.path as osp
from typing import List

import cv2
import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS

from .face_views import (build_face_view_pipeline, dataset_pipeline,
                         find_images, load_face_views, preprocess_face_views)
from .grids import make_group_maps_grid, make_mask_grid
from .mask_panels import check_simfle, draw_group_ids


def parse_group(value: str):
    """Parse ``--group``: ``'random'`` or a non-negative int."""
    if value == 'random':
        return value
    try:
        group = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'random' or a group index, got {value!r}") from None
    if group < 0:
        raise argparse.ArgumentTypeError(
            f'group index must be 0 or more, got {group}')
    return group


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f'expected 1 or more, got {number}')
    return number


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line of the mask visualisation tool."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='SimFLE config file')
    parser.add_argument('checkpoint', help='checkpoint file of that config')
    parser.add_argument(
        'images',
        nargs='+',
        help='image files or folders (searched recursively for .jpg, .jpeg, '
        '.png, .bmp, .tif, .tiff and .webp files)')

    parser.add_argument(
        '--num-images',
        type=int,
        default=8,
        help='use the first N images found, in the given order with folders '
        'sorted by path; 0 uses all (default: 8)')
    parser.add_argument(
        '--batch-size',
        type=positive_int,
        default=4,
        help='images per grid, one grid row each (default: 4)')
    parser.add_argument(
        '--group',
        type=parse_group,
        default='random',
        help="channel group that picks the kept patches: an index in [0, G) "
        "for every image, or 'random' for one uniform draw per image as in "
        "training (default: random)")
    parser.add_argument(
        '--seed',
        type=int,
        default=None,
        help='seed of the random groups, for repeatable grids (default: a '
        'new draw each run)')

    parser.add_argument(
        '--out-dir',
        default='work_dirs/mask_vis',
        help='folder for the PNG files (default: work_dirs/mask_vis)')
    parser.add_argument(
        '--groups-grid',
        action='store_true',
        help='also write the activation maps of all channel groups of each '
        'image')
    parser.add_argument(
        '--scale',
        type=positive_int,
        default=None,
        help='enlarge panels by this integer factor (default: the smallest '
        'factor that gives panels of at least 160 pixels)')
    parser.add_argument(
        '--device',
        default='cpu',
        help="torch device to run the model on, e.g. 'cpu' or 'cuda:0' "
        '(default: cpu)')
    return parser.parse_args(argv)


def resolve_device(name: str) -> torch.device:
    """Return the torch device ``name``, checking that CUDA is available."""
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f'invalid --device {name!r}: {error}') from None
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError(
            f'--device {name} needs CUDA, but torch finds no GPU; use '
            '--device cpu')
    return device


def build_model(cfg: Config, checkpoint: str,
                device: torch.device) -> nn.Module:
    """Build the config's SimFLE model and load the checkpoint weights."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} not found')
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    check_simfle(model)
    try:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    except RuntimeError as error:
        raise RuntimeError(
            f'checkpoint {checkpoint!r} does not match the model of the '
            f'config: {error}') from error
    return model.to(device).eval()


def write_png(path: str, image: np.ndarray) -> None:
    """Write a uint8 (H, W, 3) RGB image as PNG."""
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(path, pixels, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f'failed to write {path!r}')


def main(argv=None) -> List[str]:
    """Write the mask grids (and group grids) and return their paths."""
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config!r} not found')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} not found')
    if args.num_images < 0:
        raise ValueError(
            f'--num-images must be 0 (all) or more, got {args.num_images}')
    paths = find_images(args.images)
    if args.num_images:
        paths = paths[:args.num_images]

    cfg = Config.fromfile(args.config)
    device = resolve_device(args.device)
    model = build_model(cfg, args.checkpoint, device)
    generator = model.mask_generator
    pipeline = build_face_view_pipeline(
        dataset_pipeline(cfg.train_dataloader.dataset))
    # Draw all groups at once so that one seed fixes every batch.
    group_ids = draw_group_ids(generator.num_groups, len(paths), args.group,
                               args.seed)  # (N,)

    os.makedirs(args.out_dir, exist_ok=True)
    written: List[str] = []
    for start in range(0, len(paths), args.batch_size):
        batch_paths = paths[start:start + args.batch_size]
        names = [osp.basename(path) for path in batch_paths]
        images = load_face_views(batch_paths, pipeline,
                                 generator.img_size)  # (B, 3, S, S)
        inputs = preprocess_face_views(model, images)  # (B, 3, S, S)
        grid = make_mask_grid(
            model,
            inputs,
            group=group_ids[start:start + len(batch_paths)],
            names=names,
            scale=args.scale)
        path = osp.join(args.out_dir,
                        f'mask_grid_{start // args.batch_size:03d}.png')
        write_png(path, grid.image)
        written.append(path)
        groups = ', '.join(f'{name}: group {int(group)}'
                           for name, group in zip(names, grid.group_ids))
        print(f'wrote {path} ({groups})')

        if args.groups_grid:
            for offset, name in enumerate(names):
                group_grid = make_group_maps_grid(
                    model, inputs[offset], name=name, scale=args.scale)
                stem = osp.splitext(name)[0]
                path = osp.join(args.out_dir,
                                f'group_maps_{start + offset:03d}_{stem}.png')
                write_png(path, group_grid.image)
                written.append(path)
                print(f'wrote {path}')
    return written


if __name__ == '__main__':
    main()
