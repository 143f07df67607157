# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Convert a SimFLE checkpoint to a backbone-only checkpoint.

python tools/model_converters/simfle_to_backbone.py INPUT OUTPUT
    [--format {mmpretrain,torchvision}] [--source {online,target}]
    [--depth {18,34,50,101,152}]

The implementation lives in ``mmsimfle.tools.convert_backbone``.
"""
import os.path as osp
import sys

# Run from a checkout without installing: put the repository first.
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmsimfle.tools.convert_backbone import main  # noqa: E402

if __name__ == '__main__':
    main()
