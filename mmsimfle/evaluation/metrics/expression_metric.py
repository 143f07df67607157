# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import csv
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpretrain.registry import METRICS


def confusion_matrix(labels: np.ndarray, preds: np.ndarray,
                     num_classes: int) -> np.ndarray:
    """Count (true class, predicted class) pairs -> (K, K) int64 matrix."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, preds), 1)
    return matrix


def expression_metrics(matrix: np.ndarray) -> Dict[str, float]:
    """Compute top-1, mean class accuracy and macro F1 from a confusion matrix.

    Rows are true classes, columns predictions. Mean class accuracy is the
    mean recall over the classes that occur in the labels; macro F1 is the
    mean F1 over the same classes, with F1 = 0 where precision and recall
    are both 0. Values are percentages.
    """
    total = matrix.sum()
    correct = np.diag(matrix).astype(np.float64)  # (K, )
    support = matrix.sum(axis=1).astype(np.float64)  # true count per class
    predicted = matrix.sum(axis=0).astype(np.float64)
    present = support > 0

    recall = np.divide(
        correct, support, out=np.zeros_like(correct), where=support > 0)
    precision = np.divide(
        correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall,
        denominator,
        out=np.zeros_like(correct),
        where=denominator > 0)
    return dict(
        top1=100.0 * correct.sum() / max(total, 1),
        mean_class_accuracy=100.0 * recall[present].mean(),
        macro_f1=100.0 * f1[present].mean(),
    )


def save_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str],
                          path_stem: str, title: str) -> None:
    """Write the matrix as ``<path_stem>.csv`` and ``<path_stem>.png``."""
    os.makedirs(osp.dirname(path_stem) or '.', exist_ok=True)
    with open(path_stem + '.csv', 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['true \\ predicted', *class_names, 'support'])
        for name, row in zip(class_names, matrix):
            writer.writerow([name, *row.tolist(), int(row.sum())])

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    size = max(4.0, 0.7 * len(class_names) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    support = matrix.sum(axis=1, keepdims=True)
    rates = np.divide(
        matrix, support, out=np.zeros(matrix.shape), where=support > 0)
    axes.imshow(rates, cmap='Blues', vmin=0.0, vmax=1.0)
    for row in range(matrix.shape[0]):
        for col in range(matrix.shape[1]):
            colour = 'white' if rates[row, col] > 0.5 else 'black'
            axes.text(
                col, row, str(matrix[row, col]), ha='center', va='center',
                color=colour, fontsize=8)
    axes.set_xticks(range(len(class_names)), class_names, rotation=45,
                    ha='right')
    axes.set_yticks(range(len(class_names)), class_names)
    axes.set_xlabel('predicted')
    axes.set_ylabel('true')
    axes.set_title(title + '\n(counts; colour = fraction of the true class)',
                   fontsize=9)
    figure.tight_layout()
    figure.savefig(path_stem + '.png', dpi=120)
    plt.close(figure)


@METRICS.register_module()
class ExpressionMetric(BaseMetric):
    """Top-1, mean class accuracy, macro F1 and confusion matrix.

    The metrics usually reported for facial expression recognition, from one
    pass over the predictions. The confusion matrix is written as CSV and PNG
    to ``out_dir`` after every evaluation (the files of the last one remain)
    and its class counts are logged.

    Args:
        out_dir (str, optional): Folder for ``<file_prefix>_confusion_matrix``
            ``.csv`` and ``.png``. The train and test tools set it to
            ``<work_dir>/confusion_matrices`` when it is None. Nothing is
            written while it is None.
        file_prefix (str): Prefix of the files, e.g. ``'val'`` or
            ``'test'``. Defaults to ``'test'``.
        collect_device (str): Device for collecting results across ranks.
        prefix (str, optional): Prefix of the metric names. Defaults to
            ``'expression'``.
    """
    default_prefix = 'expression'

    def __init__(self,
                 out_dir: Optional[str] = None,
                 file_prefix: str = 'test',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.out_dir = out_dir
        self.file_prefix = file_prefix

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store the true and predicted class of each sample."""
        for sample in data_samples:
            self.results.append((int(sample['gt_label'].reshape(-1)[0]),
                                 int(sample['pred_label'].reshape(-1)[0])))

    def class_names(self, num_seen: int) -> List[str]:
        """Return the data set's class names, or indices if it has none."""
        classes = (self.dataset_meta or {}).get('classes')
        if classes:
            return list(classes)
        return [str(index) for index in range(num_seen)]

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the metrics of all stored samples and save the matrix."""
        pairs = np.asarray(results, dtype=np.int64).reshape(-1, 2)  # (N, 2)
        labels, preds = pairs[:, 0], pairs[:, 1]
        names = self.class_names(int(pairs.max()) + 1 if len(pairs) else 0)
        if len(pairs) and pairs.max() >= len(names):
            raise ValueError(
                f'ExpressionMetric: class index {int(pairs.max())} is outside '
                f'the {len(names)} classes {names} of the data set')
        matrix = confusion_matrix(labels, preds, len(names))
        metrics = expression_metrics(matrix)
        metrics['num_samples'] = int(len(pairs))

        counts = ', '.join(f'{name}={int(count)}'
                           for name, count in zip(names, matrix.sum(axis=1)))
        MMLogger.get_current_instance().info(
            f'ExpressionMetric ({self.file_prefix}): {len(pairs)} samples; '
            f'true class counts: {counts}')
        if self.out_dir is not None:
            stem = osp.join(self.out_dir,
                            f'{self.file_prefix}_confusion_matrix')
            save_confusion_matrix(
                matrix, names, stem,
                f'{self.file_prefix}: top-1 {metrics["top1"]:.2f}%, mean '
                f'class accuracy {metrics["mean_class_accuracy"]:.2f}%')
        return metrics
