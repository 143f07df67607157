# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import ExponentialMovingAverage
from mmpretrain.registry import MODELS


@MODELS.register_module()
class TargetNetworkEMA(ExponentialMovingAverage):
    """Target network of BYOL-style training with a fixed momentum.

    Each update sets every parameter to
    ``(1 - momentum) * target + momentum * online``; the first update
    copies the online parameters. SimFLE uses ``momentum=0.01`` (a decay of
    0.99 per step).

    mmengine's ``ExponentialMovingAverage`` with ``update_buffers=False``
    copies the online buffers (BatchNorm running statistics) into the
    target at each update. The SimFLE authors' code does not: the target
    keeps the running statistics of its own forward passes. This is the
    default here (``sync_buffers=False``); pass True for mmengine's
    behaviour.

    Args:
        model (nn.Module): The online network to average.
        momentum (float): Weight of the online parameters in each update.
            Defaults to 0.01.
        sync_buffers (bool): Copy the online buffers at each update.
            Defaults to False.
        device (torch.device, optional): Device of the target network.
    """

    def __init__(self,
                 model: nn.Module,
                 momentum: float = 0.01,
                 sync_buffers: bool = False,
                 device: Optional[torch.device] = None) -> None:
        super().__init__(
            model, momentum=momentum, update_buffers=False, device=device)
        self.sync_buffers = sync_buffers

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Average the online parameters of ``model`` into the target."""
        own_buffers = None
        if not self.sync_buffers:
            own_buffers = [buf.clone() for buf in self.module.buffers()]
        super().update_parameters(model)
        if own_buffers is not None:
            for buf, saved in zip(self.module.buffers(), own_buffers):
                buf.copy_(saved)
