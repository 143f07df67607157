# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Let mmengine configs inherit mmsimfle's configs as ``mmsimfle::...``.

mmengine 0.10.7 resolves ``_base_ = 'pkg::path'`` only for the packages
in its hard-coded ``MODULE2PACKAGE`` table, and then reads the config from
``<installed package>/.mim/configs/path``. mmsimfle ships its configs
there (``mmsimfle/.mim/configs``) and adds itself to the table on import,
so any entry point that imports mmsimfle before parsing a config
(``tools/train.py``, ``mmsimfle-train``) accepts
``_base_ = 'mmsimfle::simfle/simfle_r50_8xb64_affectnet.py'``.
"""
import os.path as osp

from mmengine.config import utils as config_utils

PACKAGE_NAME = 'mmsimfle'


def register_config_package() -> None:
    """Add mmsimfle to mmengine's table of packages with configs."""
    config_utils.MODULE2PACKAGE.setdefault(PACKAGE_NAME, PACKAGE_NAME)


def packaged_config_dir() -> str:
    """Return the folder of the configs shipped inside the package."""
    return osp.join(osp.dirname(osp.abspath(__file__)), '.mim', 'configs')
