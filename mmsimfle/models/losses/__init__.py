# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .distillation_loss import DistillationKLLoss
from .grouping_loss import ChannelGroupingLoss

__all__ = ['ChannelGroupingLoss', 'DistillationKLLoss']
