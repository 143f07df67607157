# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
