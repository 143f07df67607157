# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Fast linear probe on frozen features: python tools/linear_probe_features.py
CONFIG --checkpoint CKPT. The implementation is in
``mmsimfle.tools.linear_probe_features``.
"""
import os.path as osp
import sys

# Run from a checkout without installing: put the repository first.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmsimfle.tools.linear_probe_features import main  # noqa: E402

if __name__ == '__main__':
    main()
