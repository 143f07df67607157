# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import csv
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from conftest import CONFIG_DIR, REPO_ROOT
from mmsimfle.tools import linear_probe_features

CPU_PROBE = (CONFIG_DIR / 'simfle' / 'benchmarks' /
             'resnet18_linear-1xb256-constlr-10e_ferplus-96px.py')
R50_PROBES = sorted((CONFIG_DIR / 'simfle' / 'benchmarks').glob(
    'resnet50_linear-*.py'))
SPLITS = ('FER2013Train', 'FER2013Valid', 'FER2013Test')


def write_ferplus(root, per_class=3):
    """Write a FERPlus layout whose faces show their class as brightness.

    Each split has ``per_class`` images of each of the 8 emotions, labelled
    by 8 of 10 votes, so the majority protocol keeps all of them.
    """
    rng = np.random.default_rng(0)
    for split in SPLITS:
        folder = root / split
        folder.mkdir(parents=True)
        rows = []
        for label in range(8):
            for index in range(per_class):
                name = f'fer{label}{index:04d}.png'
                level = 20 + 28 * label
                face = np.clip(
                    rng.normal(level, 4, (48, 48)), 0, 255).astype(np.uint8)
                cv2.imwrite(str(folder / name), face)
                votes = [0] * 10
                votes[label] = 8
                votes[(label + 1) % 8] = 2
                rows.append([name, '(0, 0, 48, 48)', *votes])
        with open(folder / 'label.csv', 'w', newline='') as file:
            csv.writer(file).writerows(rows)


TINY = [
    'train_dataloader.dataset.indices=None',
    'train_dataloader.batch_size=8',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'train_cfg.max_epochs=2',
    'train_cfg.val_interval=1',
    'model.backbone.init_cfg=None',
]


def test_probe_trains_and_reports_test_metrics(tmp_path):
    write_ferplus(tmp_path / 'ferplus')
    work_dir = tmp_path / 'work'
    command = [
        sys.executable, 'tools/train.py', str(CPU_PROBE),
        '--work-dir', str(work_dir),
        '--data-root', str(tmp_path / 'ferplus'),
        '--cfg-options', *TINY,
    ]  # yapf: disable
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]

    test_lines = [line for line in log.splitlines()
                  if 'Epoch(test)' in line and 'expression/top1' in line]
    assert len(test_lines) == 1
    assert 'expression/num_samples: 24' in test_lines[0]
    assert 'expression/macro_f1' in test_lines[0]
    assert 'ExpressionMetric (test): 24 samples' in log
    matrices = work_dir / 'confusion_matrices'
    with open(matrices / 'test_confusion_matrix.csv') as file:
        rows = list(csv.reader(file))
    assert [row[0] for row in rows[1:]] == [
        'neutral', 'happiness', 'surprise', 'sadness', 'anger', 'disgust',
        'fear', 'contempt'
    ]
    assert all(row[-1] == '3' for row in rows[1:])  # support per class
    assert (matrices / 'test_confusion_matrix.png').is_file()
    assert (matrices / 'val_confusion_matrix.csv').is_file()
    assert list(work_dir.glob('best_expression_top1_epoch_*.pth'))


def test_fast_probe_separates_easy_classes(tmp_path):
    write_ferplus(tmp_path / 'ferplus', per_class=4)
    result = linear_probe_features.main([
        str(CPU_PROBE), '--random-init',
        '--data-root', str(tmp_path / 'ferplus'),
        '--work-dir', str(tmp_path / 'work'),
        '--epochs', '30',
        '--cfg-options', *TINY[:2], 'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0',
        'optim_wrapper.optimizer.lr=0.01',
    ])  # yapf: disable

    assert result['num_train'] == 32
    assert result['num_test'] == 32
    assert result['test_class_counts']['contempt'] == 4
    # Brightness encodes the class; even random features separate most.
    assert result['top1'] > 50
    saved = json.loads((tmp_path / 'work' /
                        'fast_linear_probe.json').read_text())
    assert saved['top1'] == result['top1']


@pytest.mark.parametrize('config', R50_PROBES, ids=lambda p: p.stem)
def test_r50_probe_configs_follow_protocol(config):
    cfg = Config.fromfile(str(config))
    num_classes = 8 if ('affectnet8' in config.stem
                        or 'ferplus' in config.stem) else 7
    assert cfg.model.head.num_classes == num_classes
    assert cfg.model.data_preprocessor.num_classes == num_classes
    assert cfg.model.backbone.frozen_stages == 4
    assert cfg.model.backbone.norm_eval is True
    assert cfg.model.backbone.init_cfg.type == 'StrictPretrained'
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    assert cfg.model.head.init_cfg == dict(
        type='Normal', std=0.01, bias=0., layer='Linear')
    assert cfg.optim_wrapper.optimizer.lr == 2.0
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.
    assert cfg.train_dataloader.batch_size * 8 == 1024
    assert cfg.train_cfg.max_epochs == 100
    train_types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    test_types = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
    assert train_types == ['LoadFaceImage', 'CropFaceBox',
                           'RandomResizedCrop', 'RandomFlip', 'PackInputs']
    assert test_types == ['LoadFaceImage', 'CropFaceBox', 'Resize',
                          'PackInputs']
