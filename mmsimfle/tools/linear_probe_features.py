# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Fast linear probe: extract frozen features once, then fit the linear layer.

The full protocol (``tools/train.py`` on a linear-probe config) runs the
frozen backbone on freshly augmented images in every epoch. This tool runs
it once per image with the test transform, stores the pooled features and
trains the same linear layer (same init, SGD settings, batch size and
epochs) on them in memory. It is much faster on a CPU, but it uses no
augmentation, so its accuracy can differ from the full protocol; compare
both on one checkpoint before trusting it.

    python tools/linear_probe_features.py CONFIG --checkpoint CKPT
"""
import argparse
import json
import os
import os.path as osp
import time
from typing import Tuple

import mmsimfle  # noqa: F401  (registers modules)
import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import MMLogger, print_log
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

from ..evaluation import (confusion_matrix, expression_metrics,
                          save_confusion_matrix)
from .launch import add_common_args, load_config


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line of the fast linear probe."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument(
        '--checkpoint',
        help='pretrained checkpoint; sets model.backbone.init_cfg.checkpoint')
    weights.add_argument(
        '--random-init',
        action='store_true',
        help='probe a randomly initialised backbone (a baseline)')
    parser.add_argument(
        '--epochs',
        type=int,
        help='epochs of the linear layer; defaults to train_cfg.max_epochs')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def build_loader(cfg, split: str):
    """Build a loader of ``split`` ('train', 'val' or 'test').

    Every split gets the test pipeline. The train data set keeps its own
    arguments (e.g. ``indices``), so each of its images is seen once,
    unaugmented.
    """
    source = cfg[f'{split}_dataloader']
    dataset = source.dataset.copy()
    dataset['pipeline'] = cfg.test_dataloader.dataset.pipeline
    loader = dict(
        batch_size=source.batch_size,
        num_workers=source.get('num_workers', 0),
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'),
        dataset=dataset)
    return Runner.build_dataloader(loader)


@torch.no_grad()
def extract_features(model, loader) -> Tuple[torch.Tensor, torch.Tensor]:
    """Return globally pooled backbone features (N, C) and labels (N, )."""
    features, labels = [], []
    for batch in loader:
        data = model.data_preprocessor(batch, False)
        feats = model.backbone(data['inputs'])[-1]  # (B, C, h, w)
        pooled = feats.mean(dim=(2, 3))  # (B, C)
        features.append(pooled.float().cpu())
        labels.append(
            torch.cat([s.gt_label.reshape(-1) for s in data['data_samples']]))
    return torch.cat(features), torch.cat(labels).long()


def uses_batch_norm_neck(model) -> bool:
    """Return whether the probe normalises features with ClsBatchNormNeck."""
    return any(
        type(module).__name__ == 'ClsBatchNormNeck'
        for module in model.neck.modules()) if model.with_neck else False


def standardise(train: torch.Tensor, test: torch.Tensor,
                eps: float = 1e-6) -> Tuple[torch.Tensor, torch.Tensor]:
    """Scale both sets by the train mean and variance, per feature.

    This is what a BatchNorm without affine parameters computes at test time
    once its running statistics match the training features.
    """
    mean = train.mean(dim=0)
    std = (train.var(dim=0, unbiased=False) + eps).sqrt()
    return (train - mean) / std, (test - mean) / std


def train_linear(features: torch.Tensor, labels: torch.Tensor,
                 num_classes: int, lr: float, momentum: float,
                 batch_size: int, epochs: int, seed: int) -> nn.Linear:
    """Fit Linear(C -> K) with SGD and cross-entropy on fixed features."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    layer = nn.Linear(features.shape[1], num_classes)
    nn.init.normal_(layer.weight, std=0.01)
    nn.init.zeros_(layer.bias)
    optimizer = torch.optim.SGD(
        layer.parameters(), lr=lr, momentum=momentum, weight_decay=0.)
    criterion = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(len(features), generator=generator)
        for start in range(0, len(features), batch_size):
            index = order[start:start + batch_size]
            loss = criterion(layer(features[index]), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return layer


def main(argv=None) -> dict:
    """Run the fast probe and write ``fast_linear_probe.json``."""
    args = parse_args(argv)
    cfg = load_config(args)
    if args.checkpoint is not None:
        cfg.model.backbone.init_cfg.checkpoint = args.checkpoint
    if args.random_init:
        cfg.model.backbone.init_cfg = None
    os.makedirs(cfg.work_dir, exist_ok=True)
    logger = MMLogger.get_instance(
        'mmsimfle_fast_probe',
        log_file=osp.join(cfg.work_dir, 'fast_linear_probe.log'))
    DefaultScope.get_instance(
        'mmsimfle_fast_probe', scope_name=cfg.get('default_scope',
                                                  'mmpretrain'))

    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()

    started = time.time()
    train_features, train_labels = extract_features(
        model, build_loader(cfg, 'train'))
    test_loader = build_loader(cfg, 'test')
    test_features, test_labels = extract_features(model, test_loader)
    val_features, val_labels = extract_features(model,
                                                build_loader(cfg, 'val'))
    extracted = time.time()

    if uses_batch_norm_neck(model):
        _, val_features = standardise(train_features, val_features)
        train_features, test_features = standardise(train_features,
                                                    test_features)
    classes = list(test_loader.dataset.metainfo['classes'])
    optimizer_cfg = cfg.optim_wrapper.optimizer
    epochs = args.epochs or cfg.train_cfg.max_epochs
    layer = train_linear(train_features, train_labels, len(classes),
                         optimizer_cfg.lr, optimizer_cfg.get('momentum', 0.),
                         cfg.train_dataloader.batch_size, epochs, args.seed)
    with torch.no_grad():
        preds = layer(test_features).argmax(dim=1)
        val_preds = layer(val_features).argmax(dim=1)
    val_metrics = expression_metrics(
        confusion_matrix(val_labels.numpy(), val_preds.numpy(),
                         len(classes)))

    matrix = confusion_matrix(test_labels.numpy(), preds.numpy(),
                              len(classes))
    metrics = expression_metrics(matrix)
    save_confusion_matrix(
        matrix, classes,
        osp.join(cfg.work_dir, 'confusion_matrices',
                 'fast_test_confusion_matrix'),
        f'fast probe: top-1 {metrics["top1"]:.2f}%')
    result = dict(
        config=args.config,
        checkpoint=None if args.random_init else
        cfg.model.backbone.init_cfg.get('checkpoint'),
        epochs=epochs,
        num_train=len(train_labels),
        num_test=len(test_labels),
        test_class_counts=dict(zip(classes, matrix.sum(axis=1).tolist())),
        extract_seconds=round(extracted - started, 1),
        fit_seconds=round(time.time() - extracted, 1),
        **{key: round(float(value), 2)
           for key, value in metrics.items()},
        **{f'val_{key}': round(float(value), 2)
           for key, value in val_metrics.items()})
    with open(osp.join(cfg.work_dir, 'fast_linear_probe.json'), 'w') as file:
        json.dump(result, file, indent=2)
    print_log(
        f'fast linear probe: validation top-1 {result["val_top1"]:.2f}%; '
        f'test top-1 {result["top1"]:.2f}%, mean class '
        f'accuracy {result["mean_class_accuracy"]:.2f}%, macro F1 '
        f'{result["macro_f1"]:.2f}% on {result["num_test"]} test images '
        f'({result["num_train"]} train images, {epochs} epochs)',
        logger=logger)
    return result


if __name__ == '__main__':
    main()
