# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""SimFLE for MMPretrain.

Importing mmsimfle registers its models, datasets, transforms and hooks in
MMPretrain's registries and lets configs inherit ``mmsimfle::`` configs.
"""
from .config_package import register_config_package
from .version import __version__

from . import datasets, engine, models  # noqa: E402,F401  (registration)
from . import visualization  # noqa: E402,F401
from . import evaluation  # noqa: E402,F401  (registration)

register_config_package()

__all__ = ['__version__', 'register_config_package']
