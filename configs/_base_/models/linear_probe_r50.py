# Linear probe: the SimFLE ResNet-50 trunk frozen and kept in eval mode
# (BatchNorm uses running statistics), global average pooling and one
# Linear(2048 -> classes) initialised from N(0, 0.01) with zero bias.
#
# Set the pretrained weights with
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_100.pth
# (a SimFLE checkpoint, prefix 'backbone.'), or a converted backbone with
#   model.backbone.init_cfg.prefix=None. StrictPretrained raises an error
# when keys or shapes do not match.
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=8,
        mean=[147.7725, 115.311, 100.9035],
        std=[70.6095, 63.0615, 61.506],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        frozen_stages=4,
        norm_eval=True,
        norm_cfg=dict(type='BN'),
        init_cfg=dict(
            type='StrictPretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=8,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
        init_cfg=dict(type='Normal', std=0.01, bias=0., layer='Linear')))
