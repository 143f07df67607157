# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Run SimFLE's masking and FaceMAE branch on face views for display.

Everything here runs under ``torch.no_grad`` with every submodule in eval
mode, so BatchNorm layers use their running statistics and do not update
them. Each module's train/eval flag is restored afterwards. Only the
backbone, ``mask_generator``, ``facemae_neck`` and ``rec_head`` are used,
never the target network, and the global random number generators are not
drawn from.
"""
import contextlib
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import is_model_wrapper

# Grey value of masked patches in the "kept patches" panel.
MASK_GREY = 128
# The constant that MAEPretrainHead (mmpretrain 1.2.0) adds to the patch
# variance before it divides by the square root.
NORM_PIX_EPS = 1e-6

GroupArg = Union[str, int, Sequence[int], torch.Tensor, None]


@dataclass
class MaskPanels:
    """Panels of one batch of face views, before they are laid out.

    Images are uint8 RGB; S is the face view side and L the patch count.
    """
    faces: np.ndarray  # (N, S, S, 3) de-normalised face views
    group_maps: np.ndarray  # (N, S, S) float32 chosen group activation maps
    kept_patches: np.ndarray  # (N, S, S, 3) masked patches grey
    reconstructions: np.ndarray  # (N, S, S, 3) un-normalised predictions
    pasted: np.ndarray  # (N, S, S, 3) reconstructions, kept patches pasted
    mask: torch.Tensor  # (N, L) float, 1 = masked, on the CPU
    group_ids: torch.Tensor  # (N,) int64, on the CPU
    patch_size: int
    num_groups: int
    num_keep: int
    mean: Tuple[float, float, float]  # de-normalisation mean, RGB
    std: Tuple[float, float, float]  # de-normalisation std, RGB
    norm_pix: bool  # True: predictions were in per-patch normalised units


def unwrap_model(model: nn.Module) -> nn.Module:
    """Return the model inside a DDP-style wrapper, or the model itself."""
    return model.module if is_model_wrapper(model) else model


def check_simfle(model: nn.Module) -> None:
    """Raise TypeError unless ``model`` has SimFLE's FaceMAE branch."""
    needed = ('backbone', 'mask_generator', 'facemae_neck', 'rec_head',
              'data_preprocessor')
    missing = [name for name in needed if not hasattr(model, name)]
    if missing:
        raise TypeError(
            f'mask visualisation needs a SimFLE model, but '
            f'{type(model).__name__} has no {", ".join(missing)}')


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode and restore each flag on exit.

    The flags are restored one by one rather than with ``model.train()``,
    so modules that were in eval mode during training (a frozen stage, a
    ``norm_eval`` backbone) stay as they were.
    """
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in flags:
            module.training = training


def draw_group_ids(num_groups: int,
                   batch_size: int,
                   group: GroupArg = 'random',
                   seed: Optional[int] = None) -> torch.Tensor:
    """Return the channel group of each image, int64 (batch_size,).

    Args:
        num_groups (int): Number of channel groups G.
        batch_size (int): Number of images.
        group (str | int | Sequence[int] | Tensor | None): ``'random'`` or
            None draws each group uniformly from ``[0, G)`` as training
            does, an int uses that group for every image, a sequence gives
            one group per image.
        seed (int, optional): Seed of the random draw. The draw uses its
            own ``torch.Generator``, so the global RNG state is unchanged;
            without a seed the generator is seeded non-deterministically.
    """
    if group is None or (isinstance(group, str) and group == 'random'):
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        return torch.randint(
            num_groups, (batch_size, ), generator=generator)  # (B,)

    if isinstance(group, str):
        raise ValueError(
            f"group must be 'random' or a group index, got {group!r}")
    if isinstance(group, bool):
        raise TypeError(f'group must be an int, got {group!r}')
    if isinstance(group, int):
        group_ids = torch.full((batch_size, ), group, dtype=torch.long)
    else:
        group_ids = torch.as_tensor(group, dtype=torch.long).flatten()  # (B,)
        if group_ids.numel() != batch_size:
            raise ValueError(
                f'got {group_ids.numel()} group ids for {batch_size} images')
    invalid = group_ids[(group_ids < 0) | (group_ids >= num_groups)]
    if invalid.numel():
        raise ValueError(
            f'group {invalid[0].item()} is out of range: the mask generator '
            f'has {num_groups} groups, so use 0 to {num_groups - 1}')
    return group_ids


def normalization_stats(
        data_preprocessor: nn.Module) -> Tuple[torch.Tensor, torch.Tensor]:
    """Return the (3,) mean and std that the data preprocessor divides by.

    A preprocessor without normalisation gives mean 0 and std 1.
    """
    if getattr(data_preprocessor, '_enable_normalize', False):
        mean = data_preprocessor.mean.detach().flatten().float().cpu()
        std = data_preprocessor.std.detach().flatten().float().cpu()
        return mean, std  # (3,), (3,)
    return torch.zeros(3), torch.ones(3)


def preprocessor_outputs_bgr(data_preprocessor: nn.Module) -> bool:
    """Return True when the model input keeps the BGR order of the loader.

    ``LoadFaceImage`` and mmcv's ``LoadImageFromFile`` read BGR, and
    SimFLE's preprocessor flips it to RGB (``to_rgb=True``). Without a
    channel conversion the model receives BGR.
    """
    return not getattr(data_preprocessor, '_channel_conversion', False)


def denormalize(inputs: torch.Tensor,
                mean: torch.Tensor,
                std: torch.Tensor,
                bgr: bool = False) -> np.ndarray:
    """Map normalised images back to pixels: ``x * std + mean``.

    Args:
        inputs (torch.Tensor): Normalised images (N, 3, H, W).
        mean (torch.Tensor): Per-channel mean (3,), in the input's order.
        std (torch.Tensor): Per-channel std (3,), in the input's order.
        bgr (bool): The channels are BGR; flip them to RGB.

    Returns:
        np.ndarray: uint8 (N, H, W, 3) RGB, rounded and clipped to [0, 255].
    """
    inputs = inputs.detach().float().cpu()
    pixels = inputs * std.view(1, 3, 1, 1) + mean.view(1, 3, 1, 1)
    if bgr:
        pixels = pixels.flip(1)
    pixels = pixels.round().clamp(0, 255).to(torch.uint8)  # (N, 3, H, W)
    return pixels.permute(0, 2, 3, 1).numpy()  # (N, H, W, 3)


def unnormalize_prediction(pred: torch.Tensor, inputs: torch.Tensor,
                           rec_head: nn.Module) -> torch.Tensor:
    """Turn FaceMAE's patch predictions into images in input units.

    With ``rec_head.norm_pix`` the prediction of each patch is in units of
    the target patch normalised by its own statistics. It is mapped back as
    ``pred * sqrt(var + 1e-6) + mean``, where mean and var (unbiased) are
    those of the same patch of ``inputs``, as in the target of
    ``MAEPretrainHead``. Masked patches are mapped back the same way, so
    their mean and contrast come from the input, not from the model.

    Args:
        pred (torch.Tensor): Predictions (N, L, p * p * 3).
        inputs (torch.Tensor): The normalised face views (N, 3, H, W).
        rec_head (nn.Module): The model's ``MAEPretrainHead``.

    Returns:
        torch.Tensor: Images (N, 3, H, W) in the units of ``inputs``.
    """
    if rec_head.norm_pix:
        target = rec_head.patchify(inputs)  # (N, L, p * p * 3)
        mean = target.mean(dim=-1, keepdim=True)  # (N, L, 1)
        var = target.var(dim=-1, keepdim=True)  # (N, L, 1)
        pred = pred * (var + NORM_PIX_EPS)**.5 + mean
    return rec_head.unpatchify(pred)  # (N, 3, H, W)


def group_activation_maps(mask_generator: nn.Module,
                          feats: torch.Tensor) -> torch.Tensor:
    """Return every group's activation map at the face view size.

    Each map is the sum of one group's channels of the mask generator's
    activations (1x1 convolution, BatchNorm, ReLU), resized bilinearly to
    ``img_size`` as ``SemanticMaskGenerator.patch_scores`` resizes it.

    Args:
        mask_generator (nn.Module): The model's ``SemanticMaskGenerator``.
        feats (torch.Tensor): Last backbone features (N, C, h, w).

    Returns:
        torch.Tensor: float32 (N, G, S, S).
    """
    activations = mask_generator.group_activations(feats)  # (N, C, h, w)
    groups = mask_generator.num_groups
    grouped = activations.unflatten(
        1, (groups, activations.shape[1] // groups))  # (N, G, M, h, w)
    maps = grouped.sum(dim=2).float()  # (N, G, h, w)
    size = (mask_generator.img_size, mask_generator.img_size)
    return F.interpolate(
        maps, size=size, mode='bilinear', align_corners=False)  # (N,G,S,S)


def patch_mask_to_pixels(mask: torch.Tensor, patch_size: int) -> np.ndarray:
    """Expand a (N, L) patch mask to a bool (N, S, S) pixel mask."""
    side = int(round(mask.shape[1]**.5))
    grid = mask.detach().cpu().bool().view(-1, side, side)  # (N, h, w)
    pixels = grid.repeat_interleave(patch_size, dim=1)
    pixels = pixels.repeat_interleave(patch_size, dim=2)  # (N, S, S)
    return pixels.numpy()


def check_face_views(model: nn.Module, inputs: torch.Tensor) -> None:
    """Raise ValueError unless ``inputs`` are (N, 3, S, S) face views."""
    size = model.mask_generator.img_size
    if inputs.dim() != 4 or tuple(inputs.shape[1:]) != (3, size, size):
        raise ValueError(
            f'expected normalised face views of shape (N, 3, {size}, {size}) '
            f'(mask_generator.img_size={size}), got {tuple(inputs.shape)}')


def compute_mask_panels(model: nn.Module,
                        inputs: torch.Tensor,
                        group: GroupArg = 'random',
                        seed: Optional[int] = None) -> MaskPanels:
    """Mask, reconstruct and de-normalise a batch of face views.

    Args:
        model (nn.Module): A SimFLE model, possibly in a DDP wrapper.
        inputs (torch.Tensor): Face views (N, 3, S, S), normalised by the
            model's data preprocessor.
        group: See :func:`draw_group_ids`.
        seed (int, optional): See :func:`draw_group_ids`.

    Returns:
        MaskPanels: The panels, the mask and the groups used.
    """
    model = unwrap_model(model)
    check_simfle(model)
    check_face_views(model, inputs)
    generator = model.mask_generator
    batch_size = inputs.shape[0]
    group_ids = draw_group_ids(generator.num_groups, batch_size, group, seed)

    device = next(model.parameters()).device
    inputs = inputs.to(device).float()
    with torch.no_grad(), eval_mode(model):
        feats = model.backbone(inputs)[-1]  # (N, C, h, w)
        # Tied patch scores are ordered by a private generator, so the
        # global random state stays as training left it.
        tie_order = torch.Generator(device=device)
        tie_order.manual_seed(0 if seed is None else seed)
        semantic = generator(feats, group_ids.to(device), tie_order)
        maps = group_activation_maps(generator, feats)  # (N, G, S, S)
        chosen = maps[torch.arange(batch_size, device=device),
                      group_ids.to(device)]  # (N, S, S)
        _, pred = model.facemae_neck(inputs, semantic.ids_keep,
                                     semantic.ids_restore)  # (N, L, p*p*3)
        recon = unnormalize_prediction(pred, inputs, model.rec_head)

    mean, std = normalization_stats(model.data_preprocessor)
    bgr = preprocessor_outputs_bgr(model.data_preprocessor)
    faces = denormalize(inputs, mean, std, bgr)  # (N, S, S, 3)
    reconstructions = denormalize(recon, mean, std, bgr)  # (N, S, S, 3)

    mask = semantic.mask.detach().float().cpu()  # (N, L)
    masked_pixels = patch_mask_to_pixels(mask, generator.patch_size)
    kept_patches = faces.copy()
    kept_patches[masked_pixels] = MASK_GREY
    pasted = np.where(masked_pixels[..., None], reconstructions, faces)

    if bgr:
        mean, std = mean.flip(0), std.flip(0)
    return MaskPanels(
        faces=faces,
        group_maps=chosen.cpu().numpy(),
        kept_patches=kept_patches,
        reconstructions=reconstructions,
        pasted=pasted,
        mask=mask,
        group_ids=group_ids.cpu(),
        patch_size=generator.patch_size,
        num_groups=generator.num_groups,
        num_keep=generator.num_keep,
        mean=tuple(mean.tolist()),
        std=tuple(std.tolist()),
        norm_pix=bool(model.rec_head.norm_pix))


@dataclass
class GroupMaps:
    """Activation maps of every channel group for one face view."""
    face: np.ndarray  # (S, S, 3) uint8 RGB de-normalised face view
    maps: np.ndarray  # (G, S, S) float32 group activation maps
    kept_ids: torch.Tensor  # (G, K) patches each group would keep, CPU
    patch_size: int
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]


def compute_group_maps(model: nn.Module, inputs: torch.Tensor) -> GroupMaps:
    """Compute every channel group's activation map of one face view.

    Args:
        model (nn.Module): A SimFLE model, possibly in a DDP wrapper.
        inputs (torch.Tensor): One normalised face view, (3, S, S) or
            (1, 3, S, S).

    Returns:
        GroupMaps: The face, the G maps and the patches each group keeps.
    """
    model = unwrap_model(model)
    check_simfle(model)
    if inputs.dim() == 3:
        inputs = inputs.unsqueeze(0)  # (1, 3, S, S)
    check_face_views(model, inputs)
    if inputs.shape[0] != 1:
        raise ValueError(
            f'compute_group_maps takes one face view, got {inputs.shape[0]}')
    generator = model.mask_generator

    device = next(model.parameters()).device
    inputs = inputs.to(device).float()
    with torch.no_grad(), eval_mode(model):
        feats = model.backbone(inputs)[-1]  # (1, C, h, w)
        maps = group_activation_maps(generator, feats)[0]  # (G, S, S)
        # Keep the patches as the generator would for each group.
        scores = F.avg_pool2d(maps.unsqueeze(1),
                              generator.patch_size).flatten(1)  # (G, L)
        tie_order = torch.Generator(device=device).manual_seed(0)
        kept_ids, _, _ = generator.select_patches(scores,
                                                  tie_order)  # (G, K)

    mean, std = normalization_stats(model.data_preprocessor)
    bgr = preprocessor_outputs_bgr(model.data_preprocessor)
    face = denormalize(inputs, mean, std, bgr)[0]  # (S, S, 3)
    if bgr:
        mean, std = mean.flip(0), std.flip(0)
    return GroupMaps(
        face=face,
        maps=maps.cpu().numpy(),
        kept_ids=kept_ids.cpu(),
        patch_size=generator.patch_size,
        mean=tuple(mean.tolist()),
        std=tuple(std.tolist()))
