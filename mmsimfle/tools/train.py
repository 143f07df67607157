# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Train a model from an mmengine config (SimFLE pretraining and more).

Run as ``python tools/train.py CONFIG``, ``mmsimfle-train CONFIG`` or
``python -m mmsimfle.tools.train CONFIG``; ``tools/dist_train.sh`` starts
one process per GPU (or CPU process) through torchrun.
"""
import argparse
import os.path as osp
from typing import Optional

import mmsimfle  # noqa: F401  (registers modules and mmsimfle:: configs)
from mmengine.device import get_device
from mmengine.runner import Runner

from .launch import (add_common_args, check_face_view_size, load_config,
                     setup_cpu_distributed)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line of the train tool."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: AmpOptimWrapper (float16 with a dynamic loss '
        'scale) on a GPU, AutocastOptimWrapper (bfloat16 autocast, no loss '
        'scale) on a machine without one')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale lr by total batch / auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--no-test',
        action='store_true',
        help='skip the test split that runs after training, where the '
        'config has one (as the linear-probe configs do)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training, where the config has it')
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace):
    """Load the config and apply the train-only options."""
    cfg = load_config(args)
    if args.amp:
        set_amp_optim_wrapper(cfg)
    if args.auto_scale_lr:
        if cfg.get('auto_scale_lr') is None:
            raise ValueError(
                f'--auto-scale-lr needs auto_scale_lr.base_batch_size in '
                f'{args.config}')
        cfg.auto_scale_lr.enable = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(
                f'--resume checkpoint {args.resume!r} not found')
        cfg.resume = True
        cfg.load_from = args.resume
    setup_cpu_distributed(cfg)
    return cfg


# The devices that mmengine 0.10.7's AmpOptimWrapper accepts.
AMP_DEVICES = ('cuda', 'npu', 'mlu', 'musa')
AMP_WRAPPERS = ('AmpOptimWrapper', 'AutocastOptimWrapper')


def set_amp_optim_wrapper(cfg, device: Optional[str] = None) -> None:
    """Switch the optimizer wrapper to mixed precision for ``--amp``.

    On a device that ``AmpOptimWrapper`` supports, a plain ``OptimWrapper``
    becomes ``AmpOptimWrapper`` with a dynamic loss scale. Elsewhere (a CPU)
    the config gets ``AutocastOptimWrapper``, bfloat16 autocast without a
    loss scale, also in place of an ``AmpOptimWrapper`` that the config
    names, whose ``loss_scale`` is then dropped and whose ``dtype`` is kept.
    An ``AutocastOptimWrapper`` that the config names is kept on any device.
    """
    if device is None:
        device = get_device()
    wrapper = cfg.optim_wrapper
    current = wrapper.get('type', 'OptimWrapper')
    if current not in ('OptimWrapper', ) + AMP_WRAPPERS:
        raise ValueError(
            f'--amp replaces optim_wrapper.type, but the config sets '
            f'{current!r}. Use a config with OptimWrapper, AmpOptimWrapper '
            'or AutocastOptimWrapper.')
    if current == 'AutocastOptimWrapper':
        return
    if device in AMP_DEVICES:
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
    else:
        wrapper.type = 'AutocastOptimWrapper'
        wrapper.pop('loss_scale', None)
        if wrapper.get('dtype') is None:
            wrapper.dtype = 'bfloat16'


def main(argv=None) -> None:
    """Build the Runner from the config and train."""
    args = parse_args(argv)
    cfg = build_config(args)
    check_face_view_size(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    if not args.no_test and has_test_split(cfg):
        # The reported result is the model of the last epoch.
        runner.test()


def has_test_split(cfg) -> bool:
    """Return whether the config defines a test loop, data and metric."""
    keys = ('test_dataloader', 'test_evaluator', 'test_cfg')
    return all(cfg.get(key) is not None for key in keys)


if __name__ == '__main__':
    main()
