# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .expression_metric import (ExpressionMetric, confusion_matrix,
                                expression_metrics, save_confusion_matrix)

__all__ = [
    'ExpressionMetric', 'confusion_matrix', 'expression_metrics',
    'save_confusion_matrix'
]
