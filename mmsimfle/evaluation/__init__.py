# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from .metrics import *  # noqa: F401,F403
