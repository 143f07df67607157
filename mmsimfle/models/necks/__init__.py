# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .facemae_neck import FaceMAENeck, FaceMAEViT

__all__ = ['FaceMAENeck', 'FaceMAEViT']
