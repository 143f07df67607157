# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .checkpoint_loader import load_local_checkpoint
from .hooks import *  # noqa: F401,F403
from .optimizers import AutocastOptimWrapper

__all__ = ['load_local_checkpoint', 'AutocastOptimWrapper']
