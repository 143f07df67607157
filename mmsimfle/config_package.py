# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Let mmengine configs inherit mmsimfle's configs as ``mmsimfle::...``.

mmengine 0.10.7 resolves ``_base_ = 'pkg::path'`` in three steps, and
each one needs something from the package:

1. ``pkg`` must be in its hard-coded ``MODULE2PACKAGE`` table: mmsimfle
   adds itself on import, so any entry point that imports mmsimfle before
   parsing a config (``tools/train.py``, ``mmsimfle-train``) accepts
   ``_base_ = 'mmsimfle::simfle/simfle_r50_8xb64_affectnet.py'``.
2. It reads ``<installed package>/.mim/model-index.yml`` first and only
   falls back to ``.mim/configs/path`` when that index does not list the
   config. Without the index every such config fails with a
   ``FileNotFoundError`` for the index, so mmsimfle ships an (empty)
   index and its configs there.
3. Every dict with a ``type`` taken from the base gets
   ``_scope_='mmsimfle'`` and is built from the registry nodes of that
   scope, which ``mmsimfle.registry`` creates.

mmengine finds ``<installed package>`` from the distribution metadata,
which for an editable install (``pip install -e .``) points at
site-packages instead of the checkout. mmsimfle therefore wraps the lookup
so that ``mmsimfle`` resolves to the folder of the imported package, in any
kind of install.
"""
import os.path as osp

from mmengine.config import config as config_module
from mmengine.config import utils as config_utils

PACKAGE_NAME = 'mmsimfle'


def register_config_package() -> None:
    """Add mmsimfle to mmengine's table and create its registry nodes."""
    from . import registry  # noqa: F401  (the ``mmsimfle`` scope)
    config_utils.MODULE2PACKAGE.setdefault(PACKAGE_NAME, PACKAGE_NAME)
    lookup = config_module.get_installed_path
    if not getattr(lookup, 'resolves_mmsimfle', False):
        config_module.get_installed_path = _installed_path_with_mmsimfle(
            lookup)


def _installed_path_with_mmsimfle(lookup):
    """Wrap mmengine's package path lookup to find this package's folder."""

    def get_installed_path(package: str) -> str:
        if package == PACKAGE_NAME:
            return osp.dirname(osp.abspath(__file__))
        return lookup(package)

    get_installed_path.resolves_mmsimfle = True
    return get_installed_path


def packaged_config_dir() -> str:
    """Return the folder of the configs shipped inside the package."""
    return osp.join(osp.dirname(osp.abspath(__file__)), '.mim', 'configs')
