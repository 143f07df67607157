# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Train with an mmengine config: python tools/train.py CONFIG [options].

The implementation lives in ``mmsimfle.tools.train`` so that the installed
package offers the same tool as ``mmsimfle-train``.
"""
import os.path as osp
import sys

# Run from a checkout without installing: put the repository first.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmsimfle.tools.train import main  # noqa: E402

if __name__ == '__main__':
    main()
