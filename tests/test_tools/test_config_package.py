# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import os.path as osp

from mmengine.config import config as config_module
from mmengine.config import utils as config_utils

import mmsimfle


def test_mmsimfle_is_in_mmengine_package_table():
    assert config_utils.MODULE2PACKAGE['mmsimfle'] == 'mmsimfle'


def test_package_path_is_the_imported_package():
    # Holds for editable installs too, where the distribution metadata
    # points at site-packages rather than the checkout.
    path = config_module.get_installed_path('mmsimfle')
    assert path == osp.dirname(osp.abspath(mmsimfle.__file__))
    assert osp.isfile(
        osp.join(path, '.mim', 'configs', 'simfle',
                 'simfle_r50_8xb64_affectnet.py'))
    assert osp.isfile(osp.join(path, '.mim', 'model-index.yml'))


def test_other_packages_use_mmengine_lookup():
    path = config_module.get_installed_path('mmpretrain')
    assert osp.basename(path) == 'mmpretrain'
    assert osp.isdir(osp.join(path, '.mim', 'configs', 'byol'))


def test_registering_twice_wraps_lookup_once():
    lookup = config_module.get_installed_path
    mmsimfle.register_config_package()
    assert config_module.get_installed_path is lookup
