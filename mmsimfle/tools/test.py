# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Evaluate a checkpoint with the test split of an mmengine config.

Run as ``python tools/test.py CONFIG CHECKPOINT``; ``tools/dist_test.sh``
starts one process per GPU (or CPU process) through torchrun.
"""
import argparse
import os.path as osp

import mmsimfle  # noqa: F401  (registers modules and mmsimfle:: configs)
from mmengine.runner import Runner

from .launch import add_common_args, load_config, setup_cpu_distributed


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line of the test tool."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file to evaluate')
    parser.add_argument(
        '--out', help='dump the metrics to this file (.json, .yaml or .pkl)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Build the Runner from the config and run its test loop."""
    args = parse_args(argv)
    cfg = load_config(args)
    missing = [
        key for key in ('test_dataloader', 'test_evaluator', 'test_cfg')
        if cfg.get(key) is None
    ]
    if missing:
        raise ValueError(
            f'{args.config} has no {", ".join(missing)}: tools/test.py '
            'evaluates configs with a test split, such as linear-probe '
            'configs, not pretraining-only configs')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} not found')
    cfg.load_from = args.checkpoint
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out:
        import mmengine
        mmengine.dump(metrics, args.out)


if __name__ == '__main__':
    main()
