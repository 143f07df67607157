# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .face_image_folder import FaceImageFolder, write_lfw_subset_faces
from .transforms import *  # noqa: F401,F403

__all__ = ['FaceImageFolder', 'write_lfw_subset_faces']
