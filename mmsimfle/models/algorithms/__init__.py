# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .simfle import FACE_MEAN, FACE_STD, SimFLE

__all__ = ['FACE_MEAN', 'FACE_STD', 'SimFLE']
