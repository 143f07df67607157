# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Draw SimFLE's semantic masks and reconstructions of face images.

Example::

    python tools/analysis_tools/visualize_masks.py \\
        configs/simfle/simfle_r18_1xb32-coslr-5e_ferplus-96px.py \\
        work_dirs/simfle_r18/epoch_5.pth my_faces/ --seed 0 --groups-grid

The implementation lives in ``mmsimfle.visualization.visualize_masks``;
run ``--help`` for the options.
"""
import os.path as osp
import sys

# Run from a checkout without installing: put the repository first.
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmsimfle.visualization.visualize_masks import main  # noqa: E402

if __name__ == '__main__':
    main()
