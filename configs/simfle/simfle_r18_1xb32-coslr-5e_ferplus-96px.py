# A SimFLE that trains on a CPU in minutes: ResNet-18, a 4-layer FaceMAE of
# width 192 on 96x96 face views (36 patches of 16x16, 9 kept), global views
# at 96, batch 32, 5 epochs of 1,024 FERPlus training faces each.
#
# data_root is the FERPlus folder in Microsoft's generator layout (the
# FER2013Train/Valid/Test folders); only the images of FER2013Train are read.
# Set it with `tools/train.py --data-root PATH`. Without that folder the
# dataset falls back to the 100 LFW faces that ship with scikit-image and
# logs a warning.
_base_ = [
    '../_base_/models/simfle_r50.py',
    '../_base_/datasets/affectnet_simfle.py',
    '../_base_/schedules/sgd_coslr_100e.py',
    '../_base_/default_runtime.py',
]

global_size = 96
face_size = 96
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=1024, out_channels=128),
    head=dict(
        predictor=dict(in_channels=128, hid_channels=1024, out_channels=128)),
    mask_generator=dict(in_channels=512, img_size=face_size, patch_size=16),
    facemae_neck=dict(
        img_size=face_size,
        patch_size=16,
        arch=dict(
            _delete_=True,
            embed_dims=192,
            num_layers=4,
            num_heads=3,
            feedforward_channels=768),
        decoder_embed_dim=128,
        decoder_depth=2,
        decoder_num_heads=4),
    gfl_distill_neck=dict(in_channels=512, hid_channels=1024, out_channels=128),
    ffl_distill_neck=dict(in_channels=192, hid_channels=1024, out_channels=128))

global_view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=global_size,
        crop_ratio_range=(0.08, 1.0),
        aspect_ratio_range=(3. / 4., 4. / 3.),
        interpolation='bilinear',
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='HueSafeColorJitter',
                brightness=0.8,
                contrast=0.8,
                saturation=0.8,
                hue=0.2)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=1.0),
]
face_view_pipeline = [
    dict(type='ResizeEdge', scale=face_size, edge='short'),
    dict(type='CenterCrop', crop_size=face_size),
]
train_pipeline = [
    dict(type='LoadFaceImage', on_error='skip'),
    # Crops to the annotated face box where the data set gives one
    # (AffectNet); a no-op for folders of face crops.
    dict(type='CropFaceBox'),
    dict(
        type='MultiView',
        num_views=[2, 1],
        transforms=[global_view_pipeline, face_view_pipeline]),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    # New workers each epoch, seeded from the restored random state, make a
    # resumed run repeat an uninterrupted one exactly.
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='FaceImageFolder',
        data_root='data/ferplus',
        data_prefix='FER2013Train',
        # The first 1,024 images in path order make one sub-sampled epoch.
        indices=1024,
        fallback='skimage_lfw_subset',
        pipeline=train_pipeline))

# lr = 0.05 * 32 / 256; cosine over the 5 epochs.
optim_wrapper = dict(optimizer=dict(lr=0.05 * 32 / 256))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=5,
        eta_min=0.,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=False)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=5)
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(
    logger=dict(interval=4),
    checkpoint=dict(interval=1, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
