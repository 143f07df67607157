# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .reconstruction_head import FaceMAEReconstructionHead

__all__ = ['FaceMAEReconstructionHead']
