# A linear probe that runs on a CPU: the ResNet-18 of
# simfle_r18_1xb32-coslr-5e_ferplus-96px.py, frozen, on 96x96 FERPlus faces
# (majority protocol, 8 classes). It trains 10 epochs on the first 4,096
# labelled FER2013Train faces with SGD lr 0.005 and reports on the full
# FER2013Test split. Unlike the ResNet-50 protocol, the pooled features pass
# a BatchNorm without affine parameters (as in MAE's linear probe) before the
# linear layer, because the features of a briefly trained or random ResNet-18
# are far from unit scale. At the protocol's lr 0.5 the raw-feature probe
# diverged (training loss 30-65, every test image predicted as one class).
# The lr was
# chosen on FER2013Valid with the fast probe among 0.5, 0.1, 0.02 and 0.005
# (docs/linear_probe.md).
#   python tools/train.py configs/simfle/benchmarks/resnet18_linear-1xb256-constlr-10e_ferplus-96px.py \
#       --data-root data/ferplus \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/simfle_r18_1xb32-coslr-5e_ferplus-96px/epoch_5.pth
# A randomly initialised baseline: --cfg-options model.backbone.init_cfg=None
_base_ = [
    '../../_base_/models/linear_probe_r50.py',
    '../../_base_/datasets/ferplus_linear_probe.py',
    '../../_base_/schedules/sgd_constlr_100e_linear_probe.py',
    '../../_base_/linear_probe_runtime.py',
]

image_size = 96
model = dict(
    backbone=dict(depth=18),
    neck=[
        dict(type='GlobalAveragePooling'),
        dict(type='ClsBatchNormNeck', input_features=512),
    ],
    head=dict(in_channels=512))

train_pipeline = [
    dict(type='LoadFaceImage', on_error='skip'),
    dict(type='RandomResizedCrop', scale=image_size, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadFaceImage', on_error='raise'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=256,
    num_workers=2,
    dataset=dict(indices=4096, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256, num_workers=2, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=256, num_workers=2, dataset=dict(pipeline=test_pipeline))

optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=10)
]
train_cfg = dict(max_epochs=10, val_interval=5)
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(
    logger=dict(interval=4), checkpoint=dict(interval=5))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
