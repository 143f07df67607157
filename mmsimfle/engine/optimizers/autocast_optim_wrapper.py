# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from contextlib import contextmanager
from typing import Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmpretrain.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Optimizer wrapper that runs the forward pass under ``torch.autocast``.

    mmengine 0.10.7's ``AmpOptimWrapper`` asserts that a CUDA, NPU, MLU or
    MUSA device is present, so it cannot run on a CPU. This wrapper enables
    ``torch.autocast`` for the device type of the model's parameters
    (``'cpu'``, or ``'cuda'`` on a GPU) and has no loss scaler. bfloat16 has
    the exponent range of float32, so its gradients need no loss scaling.
    The parameters, gradients and optimizer state stay in float32.
    ``tools/train.py --amp`` selects this wrapper on machines without an
    accelerator and ``AmpOptimWrapper`` on GPUs.

    Args:
        optimizer (Optimizer): The optimizer to wrap.
        dtype (str | torch.dtype): The autocast data type, ``'bfloat16'``
            (default) or ``'float16'``. float16 runs without loss scaling
            here, so small gradients can underflow to zero; on GPUs prefer
            ``AmpOptimWrapper`` for float16.
        **kwargs: ``accumulative_counts`` and ``clip_grad`` of
            :class:`mmengine.optim.OptimWrapper`.
    """

    valid_dtypes = ('bfloat16', 'float16')

    def __init__(self,
                 optimizer,
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 **kwargs) -> None:
        super().__init__(optimizer, **kwargs)
        if isinstance(dtype, torch.dtype):
            dtype = str(dtype).replace('torch.', '')
        if dtype not in self.valid_dtypes:
            raise ValueError(
                f'AutocastOptimWrapper dtype={dtype!r} is invalid; use one '
                f"of {', '.join(repr(d) for d in self.valid_dtypes)}")
        if dtype == 'float16':
            print_log(
                'AutocastOptimWrapper runs float16 without loss scaling, so '
                'small gradients can underflow to zero; bfloat16 does not '
                'have this problem.',
                logger='current',
                level=30)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Run the forward pass under autocast on the model's device type.

        The context of :class:`OptimWrapper`, which turns off gradient
        synchronisation during gradient accumulation, is kept.
        """
        parameter = next(model.parameters(), None)
        device_type = 'cpu' if parameter is None else parameter.device.type
        if not torch.amp.is_autocast_available(device_type):
            raise RuntimeError(
                f'torch.autocast does not support the device type '
                f'{device_type!r} of the model parameters in torch '
                f'{torch.__version__}')
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=self.cast_dtype):
            yield

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state, ignoring an AmpOptimWrapper loss scaler.

        This lets a run that ``AmpOptimWrapper`` started on a GPU resume on
        a machine without one.
        """
        if 'loss_scaler' in state_dict:
            state_dict = dict(state_dict)
            state_dict.pop('loss_scaler')
            print_log(
                'AutocastOptimWrapper: the checkpoint has an AmpOptimWrapper '
                'loss scaler state, which this wrapper does not use.',
                logger='current')
        super().load_state_dict(state_dict)
