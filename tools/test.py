# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Test a checkpoint: python tools/test.py CONFIG CHECKPOINT [options].

The implementation lives in ``mmsimfle.tools.test`` so that the installed
package offers the same tool as ``mmsimfle-test``.
"""
import os.path as osp
import sys

# Run from a checkout without installing: put the repository first.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmsimfle.tools.test import main  # noqa: E402

if __name__ == '__main__':
    main()
