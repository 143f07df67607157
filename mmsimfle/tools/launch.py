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


def check_face_view_size(cfg: Config) -> None:
    """Raise ValueError when the face view does not match FaceMAE's input.

    SimFLE's third view (the face view) comes from the last pipeline of the
    ``MultiView`` transform in the training pipeline. Its side must equal
    ``model.facemae_neck.img_size``, which the mask generator shares. The
    check reads the view size from the transforms that set it
    (``ResizeEdge``, ``Resize``, ``CenterCrop``, ``RandomCrop`` and
    ``RandomResizedCrop``) and raises with the config keys and values of
    both sides. Configs without ``model.facemae_neck`` or without a
    ``MultiView`` transform are not checked.
    """
    model = cfg.get('model')
    facemae = model.get('facemae_neck') if isinstance(model, dict) else None
    if not isinstance(facemae, dict) or 'img_size' not in facemae:
        return
    img_size = facemae['img_size']
    loader = cfg.get('train_dataloader')
    if not isinstance(loader, dict):
        return
    for key, pipeline in _dataset_pipelines(
            loader.get('dataset'), 'train_dataloader.dataset'):
        for index, transform in enumerate(pipeline):
            if isinstance(transform, dict) and transform.get(
                    'type') == 'MultiView':
                _check_multiview(transform, f'{key}.pipeline[{index}]',
                                 img_size)


def _dataset_pipelines(dataset, key: str):
    """Yield ``(config key, pipeline)`` of a dataset and its wrapped ones."""
    if not isinstance(dataset, dict):
        return
    if isinstance(dataset.get('pipeline'), list):
        yield key, dataset['pipeline']
    if isinstance(dataset.get('dataset'), dict):
        yield from _dataset_pipelines(dataset['dataset'], f'{key}.dataset')
    for index, child in enumerate(dataset.get('datasets') or []):
        yield from _dataset_pipelines(child, f'{key}.datasets[{index}]')


class _SideBounds:
    """Smallest and largest side a view can have, with the keys that set them.

    ``None`` means the bound depends on the input image.
    """

    def __init__(self) -> None:
        self.low = self.high = None
        self.low_source = self.high_source = None

    def set(self, low, high, source) -> None:
        self.low, self.high = low, high
        self.low_source = self.high_source = source

    def crop(self, low, high, source) -> None:
        # A crop without padding keeps sides that are already smaller.
        if self.low is not None and low < self.low:
            self.low, self.low_source = low, source
        if self.high is None or high < self.high:
            self.high, self.high_source = high, source


def _size_pair(size):
    if isinstance(size, int):
        return size, size
    width, height = size
    return width, height


def _check_multiview(multiview: dict, key: str, img_size: int) -> None:
    pipelines = multiview.get('transforms') or []
    num_views = multiview.get('num_views', 1)
    if isinstance(num_views, int):
        num_views = [num_views] * len(pipelines)
    view_pipelines = [
        index for index, count in enumerate(num_views) for _ in range(count)
    ]
    if not view_pipelines or view_pipelines[-1] >= len(pipelines):
        return
    face_index = view_pipelines[-1]
    face_key = f'{key}.transforms[{face_index}]'

    bounds = _SideBounds()
    for index, transform in enumerate(pipelines[face_index]):
        if not isinstance(transform, dict):
            continue
        kind = transform.get('type')
        where = f'{face_key}[{index}]'
        if kind == 'ResizeEdge':
            scale = transform['scale']
            source = f'{kind} {where}.scale={scale}'
            edge = transform.get('edge', 'short')
            if edge == 'short':
                bounds.set(scale, None, source)
            elif edge == 'long':
                bounds.set(None, scale, source)
            else:
                bounds.set(None, None, source)
        elif kind == 'Resize' and not transform.get('keep_ratio', False):
            width, height = _size_pair(transform['scale'])
            bounds.set(
                min(width, height), max(width, height),
                f'{kind} {where}.scale={transform["scale"]}')
        elif kind == 'RandomResizedCrop':
            width, height = _size_pair(transform['scale'])
            bounds.set(
                min(width, height), max(width, height),
                f'{kind} {where}.scale={transform["scale"]}')
        elif kind in ('CenterCrop', 'RandomCrop'):
            width, height = _size_pair(transform['crop_size'])
            source = f'{kind} {where}.crop_size={transform["crop_size"]}'
            if transform.get('auto_pad') or transform.get('pad_if_needed'):
                bounds.set(min(width, height), max(width, height), source)
            else:
                bounds.crop(min(width, height), max(width, height), source)

    target = f'model.facemae_neck.img_size={img_size}'
    if bounds.high is not None and bounds.high > img_size:
        raise ValueError(
            f'The face view is larger than the FaceMAE input: '
            f'{bounds.high_source} gives face views with sides up to '
            f'{bounds.high}, but {target}. Make the face view pipeline '
            'produce img_size x img_size views, or change img_size.')
    if bounds.low is not None and bounds.low < img_size:
        raise ValueError(
            f'The face view is smaller than the FaceMAE input: '
            f'{bounds.low_source} gives face views with sides down to '
            f'{bounds.low}, but {target}. Make the face view pipeline '
            'produce img_size x img_size views, or change img_size.')
    fix = (f"end the face view pipeline with dict(type='ResizeEdge', "
           f"scale={img_size}, edge='short') and dict(type='CenterCrop', "
           f'crop_size={img_size}).')
    if bounds.high is None:
        source = bounds.low_source or bounds.high_source
        if source is None:
            reason = ('no transform in it sets the view size, so views keep '
                      'the size of the input images')
        else:
            reason = (f'{source} does not limit the longer side of '
                      'non-square images')
        raise ValueError(
            f'The face view of {face_key} can be larger than the FaceMAE '
            f'input: {reason}, but {target}. To fix it, {fix}')
    if bounds.low is None:
        raise ValueError(
            f'The face view of {face_key} can be smaller than the FaceMAE '
            f'input: {bounds.high_source} sets only the largest side, so '
            f'smaller or non-square images give smaller views, but {target}. '
            f'To fix it, {fix}')
