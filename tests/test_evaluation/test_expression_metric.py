# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import csv

import numpy as np
import pytest
import torch

from mmsimfle.evaluation import (ExpressionMetric, confusion_matrix,
                                 expression_metrics)


def test_confusion_matrix_counts_pairs():
    labels = np.array([0, 0, 1, 2, 2, 2])
    preds = np.array([0, 1, 1, 2, 0, 2])
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert np.array_equal(confusion_matrix(labels, preds, 3), expected)


def test_metrics_hand_computed():
    # rows true, columns predicted
    matrix = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    metrics = expression_metrics(matrix)
    # top-1: 4 of 6; recalls 1/2, 1, 2/3; precisions 1/2, 1/2, 1.
    f1 = [0.5, 2 * 0.5 * 1 / 1.5, 2 * 1 * (2 / 3) / (5 / 3)]
    assert metrics['top1'] == pytest.approx(100 * 4 / 6)
    assert metrics['mean_class_accuracy'] == pytest.approx(
        100 * (0.5 + 1 + 2 / 3) / 3)
    assert metrics['macro_f1'] == pytest.approx(100 * sum(f1) / 3)


def test_metrics_skip_absent_classes():
    # Class 2 never occurs in the labels and is never predicted.
    matrix = np.array([[2, 0, 0], [1, 1, 0], [0, 0, 0]])
    metrics = expression_metrics(matrix)
    assert metrics['mean_class_accuracy'] == pytest.approx(100 * 0.75)
    # F1: class 0: p=2/3, r=1 -> 0.8; class 1: p=1, r=0.5 -> 2/3.
    assert metrics['macro_f1'] == pytest.approx(100 * (0.8 + 2 / 3) / 2)


def test_metric_writes_matrix_files(tmp_path):
    metric = ExpressionMetric(out_dir=str(tmp_path), file_prefix='val')
    metric.dataset_meta = dict(classes=('neutral', 'happy', 'sad'))
    samples = [
        dict(gt_label=torch.tensor([t]), pred_label=torch.tensor([p]))
        for t, p in [(0, 0), (0, 1), (1, 1), (2, 2), (2, 0), (2, 2)]
    ]
    metric.process(None, samples)
    metrics = metric.evaluate(len(samples))

    assert metrics['expression/top1'] == pytest.approx(100 * 4 / 6)
    assert metrics['expression/num_samples'] == 6
    with open(tmp_path / 'val_confusion_matrix.csv') as file:
        rows = list(csv.reader(file))
    assert rows[0] == ['true \\ predicted', 'neutral', 'happy', 'sad',
                       'support']
    assert rows[3] == ['sad', '1', '0', '2', '3']
    png = (tmp_path / 'val_confusion_matrix.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'


def test_metric_rejects_class_outside_data_set():
    metric = ExpressionMetric()
    metric.dataset_meta = dict(classes=('a', 'b'))
    metric.process(None, [dict(gt_label=torch.tensor([0]),
                               pred_label=torch.tensor([5]))])
    with pytest.raises(ValueError, match='class index 5 is outside'):
        metric.evaluate(1)
