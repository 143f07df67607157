# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


class SemanticMask(NamedTuple):
    """What FaceMAE needs from the semantic masking, batch-first.

    - ``ids_keep`` (B, K): the kept patch indices, most active first.
    - ``mask`` (B, L): 1 for a masked patch and 0 for a kept one.
    - ``ids_restore`` (B, L): puts [kept, masked] tokens back in patch order.
    - ``patch_scores`` (B, L): the per-patch means of the group map.
    - ``group_ids`` (B,): the channel groups drawn for the samples.
    - ``loss``: the weighted channel grouping loss.
    """
    ids_keep: torch.Tensor
    mask: torch.Tensor
    ids_restore: torch.Tensor
    patch_scores: torch.Tensor
    group_ids: torch.Tensor
    loss: torch.Tensor


@MODELS.register_module()
class SemanticMaskGenerator(BaseModule):
    """Semantic mask of SimFLE: keep the patches a channel group fires on.

    A 1x1 convolution, BatchNorm and ReLU turn the (detached) backbone
    features of the face view into activations ``A`` whose channels are
    trained by :class:`ChannelGroupingLoss` to form ``num_groups`` groups.
    For each sample one group is drawn at random, its channels are summed
    into one map, the map is resized bilinearly to the image and averaged
    inside each patch, and the ``floor(L * (1 - mask_ratio))`` patches with
    the highest means are kept. The ranking is not differentiable, so the
    masking layers learn only through the grouping loss.

    Args:
        in_channels (int): Channels C of the backbone features (2048 for
            ResNet-50, 512 for ResNet-18). Defaults to 2048.
        num_groups (int): Number of channel groups G. Defaults to 32.
        img_size (int): Side of the square face view. Defaults to 112.
        patch_size (int): Side of a FaceMAE patch. Defaults to 16.
        mask_ratio (float): Fraction of patches to mask. Defaults to 0.75.
        loss (dict): Config of the grouping loss. Defaults to
            ``dict(type='ChannelGroupingLoss')``; its ``num_groups`` is set
            from this module.
        reference_init (bool): Initialise every convolution weight to 1.0
            and every bias to 0.1, as the SimFLE authors' code does. All
            output channels then start equal. With False the convolution
            keeps PyTorch's default initialisation. Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 2048,
                 num_groups: int = 32,
                 img_size: int = 112,
                 patch_size: int = 16,
                 mask_ratio: float = 0.75,
                 loss: dict = dict(type='ChannelGroupingLoss'),
                 reference_init: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_mask_settings(in_channels, num_groups, img_size, patch_size,
                            mask_ratio)
        self.in_channels = in_channels
        self.num_groups = num_groups
        self.img_size = img_size
        self.patch_size = patch_size
        self.mask_ratio = mask_ratio
        self.num_patches = (img_size // patch_size)**2
        self.num_keep = num_kept_patches(self.num_patches, mask_ratio)
        self.reference_init = reference_init

        self.conv = nn.Conv2d(in_channels, in_channels, kernel_size=1)
        self.bn = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.loss_module = MODELS.build(dict(loss, num_groups=num_groups))
        self._reset_conv()

    def _reset_conv(self) -> None:
        if self.reference_init:
            nn.init.constant_(self.conv.weight, 1.0)
            nn.init.constant_(self.conv.bias, 0.1)

    def init_weights(self) -> None:
        """Initialise the layers, keeping the reference convolution init."""
        super().init_weights()
        self._reset_conv()

    def group_activations(self, feats: torch.Tensor) -> torch.Tensor:
        """Map (B, C, h, w) backbone features to activations of equal shape."""
        if feats.shape[1] != self.in_channels:
            raise ValueError(
                f'SemanticMaskGenerator: the backbone gives {feats.shape[1]} '
                f'channels but in_channels={self.in_channels}; set '
                'mask_generator.in_channels to the backbone output channels')
        return self.relu(self.bn(self.conv(feats.detach())))

    def patch_scores(self, group_maps: torch.Tensor) -> torch.Tensor:
        """Average (B, 1, h, w) group maps inside each patch -> (B, L)."""
        size = (self.img_size, self.img_size)
        upsampled = F.interpolate(
            group_maps, size=size, mode='bilinear',
            align_corners=False)  # (B, 1, H, W)
        scores = F.avg_pool2d(upsampled, self.patch_size)  # (B, 1, H/p, W/p)
        return scores.flatten(1)  # (B, L)

    def select_patches(self,
                       scores: torch.Tensor,
                       generator: Optional[torch.Generator] = None):
        """Keep the ``num_keep`` patches with the highest scores.

        Returns ``ids_keep`` (B, K), ``mask`` (B, L) and ``ids_restore``
        (B, L) in the layout of mmpretrain's MAE. Equal scores are ranked in
        a random order, so a map without contrast (e.g. a channel group that
        is zero everywhere) gives a random mask rather than always the first
        patches. ``generator`` (optional) draws that order instead of the
        global random state.
        """
        # Sort a random permutation of each row stably, then map back.
        noise = torch.rand(
            scores.shape, generator=generator, device=scores.device)
        random_order = torch.argsort(noise, dim=1)  # (B, L)
        permuted = torch.gather(scores, 1, random_order)
        ranks = torch.argsort(
            permuted, dim=1, descending=True, stable=True)  # (B, L)
        ids_shuffle = torch.gather(random_order, 1, ranks)  # (B, L)
        ids_restore = torch.argsort(ids_shuffle, dim=1)  # (B, L)
        ids_keep = ids_shuffle[:, :self.num_keep]  # (B, K)

        mask = torch.ones_like(scores)  # (B, L)
        mask[:, :self.num_keep] = 0
        mask = torch.gather(mask, dim=1, index=ids_restore)
        return ids_keep, mask, ids_restore

    def forward(self,
                feats: torch.Tensor,
                group_ids: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None) -> SemanticMask:
        """Compute the semantic mask and grouping loss of backbone features.

        Args:
            feats (torch.Tensor): Backbone features (B, C, h, w) of the face
                view; they are detached here.
            group_ids (torch.Tensor, optional): Group index per sample (B,).
                Drawn uniformly at random when None.
            generator (torch.Generator, optional): Random source for the
                group draw and the order of tied patches; the global one
                when None.
        """
        activations = self.group_activations(feats)  # (B, C, h, w)
        loss = self.loss_module(activations)

        batch_size = activations.shape[0]
        if group_ids is None:
            group_ids = torch.randint(
                self.num_groups, (batch_size, ),
                generator=generator,
                device=activations.device)
        with torch.no_grad():
            group_size = self.in_channels // self.num_groups
            grouped = activations.detach().unflatten(
                1, (self.num_groups, group_size))  # (B, G, M, h, w)
            chosen = grouped[torch.arange(batch_size), group_ids]  # (B,M,h,w)
            group_maps = chosen.sum(dim=1, keepdim=True)  # (B, 1, h, w)
            scores = self.patch_scores(group_maps.float())  # (B, L)
            ids_keep, mask, ids_restore = self.select_patches(
                scores, generator)
        return SemanticMask(ids_keep, mask, ids_restore, scores, group_ids,
                            loss)


def num_kept_patches(num_patches: int, mask_ratio: float) -> int:
    """Return ``floor(num_patches * (1 - mask_ratio))``, as MAE rounds."""
    # The small offset keeps e.g. 49 * (1 - 0.3) = 34.3 from flooring one
    # patch too low through floating-point error.
    return int(num_patches * (1 - mask_ratio) + 1e-6)


def check_mask_settings(in_channels: int, num_groups: int, img_size: int,
                        patch_size: int, mask_ratio: float) -> None:
    """Raise ValueError naming the key when a masking setting is invalid."""
    if num_groups < 1 or in_channels % num_groups != 0:
        raise ValueError(
            f'mask_generator.num_groups={num_groups} must be a positive '
            f'divisor of mask_generator.in_channels={in_channels}')
    if patch_size < 1 or img_size % patch_size != 0:
        raise ValueError(
            f'img_size={img_size} must be divisible by '
            f'patch_size={patch_size}; e.g. 112 with patch 16 or 96 with '
            'patch 16')
    if not 0 < mask_ratio < 1:
        raise ValueError(
            f'mask_ratio={mask_ratio} must be in the open interval (0, 1)')
    num_patches = (img_size // patch_size)**2
    if num_kept_patches(num_patches, mask_ratio) < 1:
        max_ratio = 1 - 1 / num_patches
        raise ValueError(
            f'mask_ratio={mask_ratio} keeps no patch of the {num_patches} '
            f'patches; use a mask_ratio of at most {max_ratio:.4f}')
