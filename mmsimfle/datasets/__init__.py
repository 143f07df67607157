# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .affectnet import AffectNet
from .fer2013_csv import FER2013CSV
from .face_image_folder import FaceImageFolder, write_lfw_subset_faces
from .ferplus import FERPlus
from .rafdb import RAFDB
from .sfew import SFEW
from .transforms import *  # noqa: F401,F403

__all__ = [
    'AffectNet', 'FER2013CSV', 'FaceImageFolder', 'FERPlus', 'RAFDB', 'SFEW',
    'write_lfw_subset_faces'
]
