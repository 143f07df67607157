# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class ChannelGroupingLoss(BaseModule):
    """Channel grouping loss of SimFLE's semantic masking.

    It pushes the channels of an activation map into ``num_groups``
    contiguous groups: channels of one group should fire at the same
    positions and channels of different groups at different positions.
    For activations ``A`` of shape (B, C, h, w), every channel map of
    ``A + shift`` is flattened over the h*w positions and L2-normalised,
    ``S`` is the batch mean of the C x C matrix of dot products between
    channels and ``T`` is the block-diagonal 0/1 matrix of the groups:

        g = scale * sum((S - T)^2) / (C / reference_channels)^2

    The defaults follow the SimFLE authors' released code, whose training
    loop passes ``g`` through a mean-squared error against zero and so
    optimises ``g^2`` (``squared=True``); ``squared=False`` optimises ``g``.

    Args:
        num_groups (int): Number of channel groups G; C must be divisible
            by it. Defaults to 32.
        shift (float): Constant added to the activations before the
            normalisation, so that a channel of zeros has a direction.
            Defaults to 0.001.
        scale (float): Factor on the squared distance. Defaults to 0.001.
        reference_channels (int): The distance is divided by
            ``(C / reference_channels)^2`` so that its size does not grow
            with C. Defaults to 512.
        squared (bool): Return ``g^2`` (the reference behaviour) instead of
            ``g``. Defaults to True.
        loss_weight (float): Weight of the loss (beta in SimFLE).
            Defaults to 0.03.
    """

    def __init__(self,
                 num_groups: int = 32,
                 shift: float = 0.001,
                 scale: float = 0.001,
                 reference_channels: int = 512,
                 squared: bool = True,
                 loss_weight: float = 0.03) -> None:
        super().__init__()
        if num_groups < 1:
            raise ValueError(
                f'num_groups must be a positive integer, got {num_groups}')
        self.num_groups = num_groups
        self.shift = shift
        self.scale = scale
        self.reference_channels = reference_channels
        self.squared = squared
        self.loss_weight = loss_weight

    def group_target(self, channels: int,
                     device: torch.device) -> torch.Tensor:
        """Return the (C, C) block-diagonal 0/1 matrix of the groups."""
        group_size = channels // self.num_groups
        group_of_channel = torch.arange(channels, device=device) // group_size
        return (group_of_channel[:, None] == group_of_channel[None, :]).float()

    def distance(self, activations: torch.Tensor) -> torch.Tensor:
        """Compute ``g``, the unweighted and unsquared grouping distance."""
        batch_size, channels, height, width = activations.shape
        if channels % self.num_groups != 0:
            raise ValueError(
                f'ChannelGroupingLoss: {channels} channels cannot be split '
                f'into num_groups={self.num_groups} equal groups; use a '
                f'divisor of {channels}')

        vectors = (activations + self.shift).flatten(2)  # (B, C, h*w)
        vectors = F.normalize(vectors, dim=2)
        # Summing the per-sample C x C products equals one product of the
        # (C, B*h*w) matrix with its transpose, which avoids a (B, C, C)
        # tensor (1 GiB for C=2048 at batch 64).
        stacked = vectors.transpose(0, 1).reshape(channels, -1)  # (C, B*h*w)
        similarity = stacked @ stacked.t() / batch_size  # (C, C)

        target = self.group_target(channels, activations.device)
        squared_error = ((similarity - target)**2).sum()
        return self.scale * squared_error / (
            channels / self.reference_channels)**2

    def forward(self, activations: torch.Tensor) -> torch.Tensor:
        """Compute the weighted grouping loss of (B, C, h, w) activations."""
        distance = self.distance(activations.float())
        loss = distance**2 if self.squared else distance
        return self.loss_weight * loss
