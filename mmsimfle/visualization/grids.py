# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Lay out SimFLE's mask panels and group maps as captioned image grids.

Panels are enlarged by pixel repetition and pasted into a white numpy
canvas, so every panel pixel in the grid equals a panel pixel computed in
:mod:`.mask_panels`. Matplotlib only draws the text strips.
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from matplotlib import colormaps

from .mask_panels import (MASK_GREY, GroupArg, GroupMaps, MaskPanels,
                          compute_group_maps, compute_mask_panels)
from .text import render_paragraphs, render_text_strip

# (top, left, bottom, right) of a panel in grid pixels; bottom and right
# are exclusive.
Box = Tuple[int, int, int, int]

PANEL_KEYS = ('face', 'group_map', 'kept_patches', 'reconstruction',
              'pasted')
PANEL_TITLES = ('face view', 'group activation map', 'kept patches',
                'reconstruction', 'reconstruction + visible')
MARGIN = 10
GAP = 6
HEADER_HEIGHT = 24
ROW_LABEL_HEIGHT = 18
TILE_TITLE_HEIGHT = 16
HEAT_ALPHA = 0.5
COLORMAP = 'jet'
# Panels are enlarged to at least this side in pixels by default.
MIN_PANEL_SIDE = 160


@dataclass
class MaskGrid:
    """A mask grid and what it was drawn from."""
    image: np.ndarray  # (H, W, 3) uint8 RGB
    mask: torch.Tensor  # (N, L) float, 1 = masked
    group_ids: torch.Tensor  # (N,) int64
    panel_boxes: List[Dict[str, Box]]  # per image, keyed by PANEL_KEYS
    scale: int  # pixel repetition factor of the panels
    panels: MaskPanels


@dataclass
class GroupMapsGrid:
    """An all-groups grid of one face view and what it was drawn from."""
    image: np.ndarray  # (H, W, 3) uint8 RGB
    tile_boxes: Dict[object, Box]  # 'face' and group index -> box
    scale: int
    group_maps: GroupMaps


def default_scale(side: int) -> int:
    """Return the smallest factor that enlarges ``side`` to 160 px or more."""
    return max(1, math.ceil(MIN_PANEL_SIDE / side))


def enlarge(image: np.ndarray, scale: int) -> np.ndarray:
    """Repeat each pixel ``scale`` times along both image axes."""
    if scale == 1:
        return image
    return image.repeat(scale, axis=0).repeat(scale, axis=1)


def overlay_heat_map(face: np.ndarray,
                     heat: np.ndarray,
                     alpha: float = HEAT_ALPHA) -> np.ndarray:
    """Blend a min-max scaled heat map over a face.

    Args:
        face (np.ndarray): uint8 (S, S, 3) RGB.
        heat (np.ndarray): float (S, S); a constant map draws as its lowest
            colour.
        alpha (float): Weight of the heat map colour.

    Returns:
        np.ndarray: uint8 (S, S, 3) RGB.
    """
    low, high = float(heat.min()), float(heat.max())
    if high > low:
        scaled = (heat - low) / (high - low)
    else:
        scaled = np.zeros_like(heat)
    colours = colormaps[COLORMAP](scaled)[..., :3] * 255  # (S, S, 3)
    blended = (1 - alpha) * face.astype(np.float32) + alpha * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def format_triplet(values: Sequence[float]) -> str:
    return '(' + ', '.join(f'{value:.2f}' for value in values) + ')'


def face_view_caption(mean, std, scale: int) -> str:
    """Describe how the face view pixels were recovered from the input."""
    text = ('Face view: the normalised network input mapped back to pixels '
            'as x * std + mean per RGB channel, with the data '
            f'preprocessor\'s mean {format_triplet(mean)} and std '
            f'{format_triplet(std)}, then rounded and clipped to [0, 255].')
    if scale > 1:
        text += (f' Panels are enlarged {scale}x by pixel repetition.')
    return text


def mask_grid_caption(panels: MaskPanels, scale: int) -> List[str]:
    """Return the caption paragraphs of a mask grid."""
    side = panels.faces.shape[1]
    num_patches = panels.mask.shape[1]
    size = panels.patch_size
    if panels.norm_pix:
        reconstruction = (
            'Reconstruction: the FaceMAE prediction of every patch, '
            'un-normalised per patch as pred * sqrt(var + 1e-6) + mean, where '
            'mean and var (unbiased) are those of the same patch of the '
            'input face view, the statistics of the norm_pix target of '
            'MAEPretrainHead. Masked patches therefore take their mean '
            'colour and contrast from the input, not from the model. The '
            'result is then de-normalised like the face view.')
    else:
        reconstruction = (
            'Reconstruction: the FaceMAE prediction of every patch, '
            'de-normalised like the face view (rec_head.norm_pix is False, '
            'so no per-patch statistics are used).')
    return [
        face_view_caption(panels.mean, panels.std, scale),
        'Group activation map: sum of the chosen channel group of the mask '
        'generator activations (model in eval mode, so BatchNorm uses its '
        f'running statistics), resized bilinearly to {side}x{side}, min-max '
        f'scaled per image, {COLORMAP} colour map at '
        f'{int(HEAT_ALPHA * 100)}% over the face view.',
        f'Kept patches: the {panels.num_keep} of {num_patches} patches of '
        f'{size}x{size} with the highest mean of the group map stay '
        f'visible; masked patches are grey ({MASK_GREY}).',
        reconstruction,
        'Reconstruction + visible: the reconstruction with the kept patches '
        'replaced by the face view.',
    ]


def render_mask_grid(panels: MaskPanels,
                     names: Optional[Sequence[str]] = None,
                     scale: Optional[int] = None) -> MaskGrid:
    """Lay out one row of five panels per image, with titles and caption.

    Args:
        panels (MaskPanels): Output of :func:`compute_mask_panels`.
        names (Sequence[str], optional): One label per image, e.g. the file
            name. Defaults to ``image 0``, ``image 1``, ...
        scale (int, optional): Pixel repetition factor of the panels.
            Defaults to the smallest one that gives panels of 160 px or more.

    Returns:
        MaskGrid: The grid and the box of every panel in it.
    """
    count, side = panels.faces.shape[:2]
    names = list(names) if names is not None else [
        f'image {index}' for index in range(count)
    ]
    if len(names) != count:
        raise ValueError(f'got {len(names)} names for {count} images')
    scale = default_scale(side) if scale is None else int(scale)
    if scale < 1:
        raise ValueError(f'scale must be at least 1, got {scale}')

    panel = side * scale
    columns = len(PANEL_KEYS)
    width = 2 * MARGIN + columns * panel + (columns - 1) * GAP
    lefts = [MARGIN + column * (panel + GAP) for column in range(columns)]
    row_height = ROW_LABEL_HEIGHT + panel + GAP
    caption = render_paragraphs(mask_grid_caption(panels, scale), width)
    body_height = MARGIN + HEADER_HEIGHT + count * row_height
    canvas = np.full((body_height + caption.shape[0], width, 3),
                     255,
                     dtype=np.uint8)  # (H, W, 3)

    header = render_text_strip(
        width,
        HEADER_HEIGHT,
        [(left + panel / 2, HEADER_HEIGHT / 2, title, 'center')
         for left, title in zip(lefts, PANEL_TITLES)],
        font_size=9,
        bold=True)
    canvas[MARGIN:MARGIN + HEADER_HEIGHT] = header

    num_patches = panels.mask.shape[1]
    boxes: List[Dict[str, Box]] = []
    for index in range(count):
        top = MARGIN + HEADER_HEIGHT + index * row_height
        group = int(panels.group_ids[index])
        label = (f'{names[index]}: channel group {group} of '
                 f'{panels.num_groups}, {panels.num_keep} of {num_patches} '
                 'patches kept')
        if np.ptp(panels.group_maps[index]) == 0:
            # All patch scores tie, so select_patches keeps random patches.
            label += ' (constant map: random patches kept)'
        canvas[top:top + ROW_LABEL_HEIGHT] = render_text_strip(
            width, ROW_LABEL_HEIGHT,
            [(MARGIN, ROW_LABEL_HEIGHT / 2, label, 'left')])

        images = (
            panels.faces[index],
            overlay_heat_map(panels.faces[index], panels.group_maps[index]),
            panels.kept_patches[index],
            panels.reconstructions[index],
            panels.pasted[index],
        )
        panel_top = top + ROW_LABEL_HEIGHT
        row_boxes: Dict[str, Box] = {}
        for key, left, image in zip(PANEL_KEYS, lefts, images):
            canvas[panel_top:panel_top + panel,
                   left:left + panel] = enlarge(image, scale)
            row_boxes[key] = (panel_top, left, panel_top + panel,
                              left + panel)
        boxes.append(row_boxes)

    canvas[body_height:] = caption
    return MaskGrid(
        image=canvas,
        mask=panels.mask,
        group_ids=panels.group_ids,
        panel_boxes=boxes,
        scale=scale,
        panels=panels)


def make_mask_grid(model: nn.Module,
                   inputs: torch.Tensor,
                   group: GroupArg = 'random',
                   seed: Optional[int] = None,
                   names: Optional[Sequence[str]] = None,
                   scale: Optional[int] = None) -> MaskGrid:
    """Compute the mask panels of a batch of face views and lay them out.

    Args:
        model (nn.Module): A SimFLE model, possibly in a DDP wrapper. Its
            train/eval flags, BatchNorm statistics and target network are
            left unchanged.
        inputs (torch.Tensor): Face views (N, 3, S, S), normalised by the
            model's data preprocessor.
        group (str | int | Sequence[int]): ``'random'`` (one uniform group
            per image, as in training), one group for all images, or one
            group per image.
        seed (int, optional): Seed of the random groups.
        names (Sequence[str], optional): Row labels.
        scale (int, optional): Pixel repetition factor of the panels.

    Returns:
        MaskGrid: ``image`` is uint8 (H, W, 3) RGB; ``mask`` (N, L) and
        ``group_ids`` (N,) are the ones drawn.
    """
    panels = compute_mask_panels(model, inputs, group=group, seed=seed)
    return render_mask_grid(panels, names=names, scale=scale)


def outline_patches(image: np.ndarray, patch_ids: Sequence[int],
                    patch_side: int, colour=(255, 255, 255)) -> np.ndarray:
    """Draw a 1-pixel frame inside each listed patch of a square image."""
    image = image.copy()
    per_row = image.shape[1] // patch_side
    for patch in patch_ids:
        top = (int(patch) // per_row) * patch_side
        left = (int(patch) % per_row) * patch_side
        bottom, right = top + patch_side - 1, left + patch_side - 1
        image[top, left:right + 1] = colour
        image[bottom, left:right + 1] = colour
        image[top:bottom + 1, left] = colour
        image[top:bottom + 1, right] = colour
    return image


def group_maps_caption(group_maps: GroupMaps, scale: int) -> List[str]:
    """Return the caption paragraphs of an all-groups grid."""
    num_groups, side = group_maps.maps.shape[:2]
    return [
        face_view_caption(group_maps.mean, group_maps.std, scale),
        f'Each of the {num_groups} tiles shows one channel group of the '
        'mask generator: the sum of its channels after the 1x1 convolution, '
        'BatchNorm (running statistics, eval mode) and ReLU, resized '
        f'bilinearly to {side}x{side}, min-max scaled per tile (the title '
        f'gives the unscaled maximum), {COLORMAP} colour map at '
        f'{int(HEAT_ALPHA * 100)}% over the face view. White frames mark '
        f'the {group_maps.kept_ids.shape[1]} patches that the group keeps '
        'visible when it is drawn for this image. A constant map (max 0: '
        'every channel of the group is zero after the ReLU) is drawn in the '
        'lowest colour; all its patch scores tie, so its kept patches are '
        'drawn at random (one fixed draw here).',
    ]


def render_group_maps_grid(group_maps: GroupMaps,
                           name: str = 'image',
                           scale: Optional[int] = None) -> GroupMapsGrid:
    """Lay out the face view and its G group maps as a captioned grid."""
    num_groups, side = group_maps.maps.shape[:2]
    scale = default_scale(side) if scale is None else int(scale)
    if scale < 1:
        raise ValueError(f'scale must be at least 1, got {scale}')
    tile = side * scale
    tiles = num_groups + 1  # the face view first
    columns = math.ceil(math.sqrt(tiles))
    rows = math.ceil(tiles / columns)
    width = 2 * MARGIN + columns * tile + (columns - 1) * GAP
    cell_height = TILE_TITLE_HEIGHT + tile + GAP

    caption = render_paragraphs(group_maps_caption(group_maps, scale), width)
    body_height = MARGIN + HEADER_HEIGHT + rows * cell_height
    canvas = np.full((body_height + caption.shape[0], width, 3),
                     255,
                     dtype=np.uint8)  # (H, W, 3)
    canvas[MARGIN:MARGIN + HEADER_HEIGHT] = render_text_strip(
        width,
        HEADER_HEIGHT, [(MARGIN, HEADER_HEIGHT / 2,
                         f'{name}: activation maps of all {num_groups} '
                         'channel groups', 'left')],
        font_size=9,
        bold=True)

    boxes: Dict[object, Box] = {}
    for index in range(tiles):
        row, column = divmod(index, columns)
        top = MARGIN + HEADER_HEIGHT + row * cell_height
        left = MARGIN + column * (tile + GAP)
        if index == 0:
            key, title = 'face', 'face view'
            image = enlarge(group_maps.face, scale)
        else:
            key = index - 1
            heat = group_maps.maps[key]
            title = f'group {key}, max {float(heat.max()):.3g}'
            image = enlarge(overlay_heat_map(group_maps.face, heat), scale)
            image = outline_patches(image, group_maps.kept_ids[key].tolist(),
                                    group_maps.patch_size * scale)
        canvas[top:top + TILE_TITLE_HEIGHT, left:left + tile] = (
            render_text_strip(
                tile,
                TILE_TITLE_HEIGHT, [(tile / 2, TILE_TITLE_HEIGHT / 2, title,
                                     'center')],
                font_size=7.5))
        image_top = top + TILE_TITLE_HEIGHT
        canvas[image_top:image_top + tile, left:left + tile] = image
        boxes[key] = (image_top, left, image_top + tile, left + tile)

    canvas[body_height:] = caption
    return GroupMapsGrid(
        image=canvas, tile_boxes=boxes, scale=scale, group_maps=group_maps)


def make_group_maps_grid(model: nn.Module,
                         inputs: torch.Tensor,
                         name: str = 'image',
                         scale: Optional[int] = None) -> GroupMapsGrid:
    """Draw all G group activation maps of one face view over the face.

    Args:
        model (nn.Module): A SimFLE model, possibly in a DDP wrapper.
        inputs (torch.Tensor): One normalised face view, (3, S, S) or
            (1, 3, S, S).
        name (str): Title label, e.g. the file name.
        scale (int, optional): Pixel repetition factor of the tiles.

    Returns:
        GroupMapsGrid: ``image`` is uint8 (H, W, 3) RGB.
    """
    return render_group_maps_grid(
        compute_group_maps(model, inputs), name=name, scale=scale)
