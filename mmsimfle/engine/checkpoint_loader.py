# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Local checkpoint loading that works with torch >= 2.6.

torch 2.6 changed the default of ``torch.load`` to ``weights_only=True``.
mmengine 0.10.7 calls ``torch.load`` without the argument, and its
checkpoints hold the message hub (``HistoryBuffer`` objects that pickle
bound methods), which the weights-only unpickler rejects. Resuming then
fails with ``UnpicklingError``. Importing mmsimfle replaces mmengine's
loader for local paths with one that unpickles the whole checkpoint, as
torch < 2.6 did. That path is used by ``--resume``, ``load_from`` and
``init_cfg=dict(type='Pretrained', ...)``.

NOTE: full unpickling can run code stored in the file: load only
checkpoints you trust, as with any torch < 2.6 checkpoint.
"""
import os.path as osp

import torch
from mmengine.runner import CheckpointLoader


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_local_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint file with mmengine's full training state."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} not found')
    return torch.load(
        filename, map_location=map_location, weights_only=False)
