# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Model and pipeline settings shared by the visualisation tests."""
from conftest import tiny_simfle_cfg

FACE = 64  # 2x2 ResNet-18 features, so group maps vary over the face
PATCH = 16  # 16 patches, 4 kept
GROUPS = 4

PIPELINE = [
    dict(type='LoadFaceImage', on_error='skip'),
    dict(
        type='MultiView',
        num_views=[2, 1],
        transforms=[
            [dict(type='RandomResizedCrop', scale=FACE)],
            [
                dict(type='ResizeEdge', scale=FACE, edge='short'),
                dict(type='CenterCrop', crop_size=FACE),
            ],
        ]),
    dict(type='PackInputs'),
]


def model_cfg() -> dict:
    """Return a tiny SimFLE config with distinct channel groups.

    The convolution keeps PyTorch's random init, because with the reference
    init all channel groups start equal.
    """
    return tiny_simfle_cfg(
        face_size=FACE,
        patch_size=PATCH,
        num_groups=GROUPS,
        mask_generator=dict(reference_init=False))
