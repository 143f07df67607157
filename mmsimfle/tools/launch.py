# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Config and process-group set-up shared by the train and test tools."""
import argparse
import os
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.logging import print_log


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the options that train and test share."""
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--work-dir',
        help='folder for logs and checkpoints; defaults to '
        './work_dirs/<config name>')
    parser.add_argument(
        '--data-root',
        help='data set folder; sets train_dataloader.dataset.data_root '
        '(and the val/test loaders, where the config has them)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_dataloader.batch_size=16 '
        'model.backbone.depth=18')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher; tools/dist_train.sh uses pytorch (torchrun)')
    # torchrun passes --local-rank to old-style scripts.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Read the config and apply the command-line overrides."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config!r} not found')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        name = osp.splitext(osp.basename(args.config))[0]
        cfg.work_dir = osp.join('./work_dirs', name)

    if args.data_root is not None:
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            if cfg.get(loader) is not None:
                cfg[loader].dataset.data_root = args.data_root
    drop_collate_fn_scope(cfg)
    set_metric_output_dirs(cfg)
    return cfg


def set_metric_output_dirs(cfg: Config) -> None:
    """Point ExpressionMetric's confusion matrix files into the work dir."""
    out_dir = osp.join(cfg.work_dir, 'confusion_matrices')
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key)
        metrics = evaluator if isinstance(evaluator, list) else [evaluator]
        for metric in metrics:
            if (isinstance(metric, dict)
                    and metric.get('type') == 'ExpressionMetric'
                    and metric.get('out_dir') is None):
                metric['out_dir'] = out_dir


def drop_collate_fn_scope(cfg: Config) -> None:
    """Remove the ``_scope_`` that inheritance puts into ``collate_fn``.

    A config that inherits a dataloader through ``_base_ = 'pkg::...'``
    (``mmsimfle::`` or ``mmpretrain::``) gets ``_scope_='pkg'`` in its
    ``collate_fn`` dict. mmengine 0.10.7's Runner passes every key of that
    dict except ``type`` to the collate function, so the first batch fails
    with ``default_collate() got an unexpected keyword argument '_scope_'``.
    The collate functions live in MMEngine's ``FUNCTIONS`` registry, which
    the Runner searches without a scope, so the key is only dropped.
    """
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader_cfg = cfg.get(loader)
        if loader_cfg is None:
            continue
        collate_fn = loader_cfg.get('collate_fn')
        if isinstance(collate_fn, dict):
            collate_fn.pop('_scope_', None)


def setup_cpu_distributed(cfg: Config) -> None:
    """Start a gloo process group for a torchrun job on a machine without GPU.

    mmengine 0.10.7 calls ``torch.cuda.set_device`` in ``init_dist`` for
    the pytorch launcher, which fails without a GPU; the Runner skips
    ``init_dist`` when a process group exists, so it is created here. The
    DDP wrapper also gets ``device_ids=None``, as DistributedDataParallel
    requires for a CPU module, and SyncBatchNorm, which needs GPUs, is
    turned off with a warning.
    """
    if cfg.launcher != 'pytorch' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.env_cfg.setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg', None) or dict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if cfg.get('sync_bn', None) is not None:
        print_log(
            f'sync_bn={cfg.sync_bn!r} is ignored: SyncBatchNorm needs GPUs '
            f'and this job runs on {os.cpu_count()} CPU cores, so each '
            'process normalises with its own batch statistics.',
            logger='current',
            level=30)
        cfg.sync_bn = None
