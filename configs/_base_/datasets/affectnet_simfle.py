# AffectNet for SimFLE pretraining, read from its official layout
# (training.csv and Manually_Annotated_Images/, see docs/datasets.md): each
# image is cropped to its face box, then gives two global views at 224 and
# one face view at 112. Labels are not used; images coded None, Uncertain or
# No-Face (8-10) are left out, with the counts in the log.
dataset_type = 'AffectNet'
data_root = 'data/affectnet/'

global_view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=224,
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
    # Weights in BGR order: the image is BGR until the data preprocessor.
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    # Sigma uniform in [0.1, 2.0] on every view. Pillow's blur has no kernel
    # cut-off; the reference's 23-pixel kernel covers over 5 sigma.
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=1.0),
]
# Faces are square crops, so the short-side resize gives 112x112; the centre
# crop only guards against non-square files.
face_view_pipeline = [
    dict(type='ResizeEdge', scale=112, edge='short'),
    dict(type='CenterCrop', crop_size=112),
]
train_pipeline = [
    # Grayscale files (FER2013, FERPlus) become 3 channels; an unreadable
    # file is skipped with a warning and replaced by another sample.
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
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='training.csv',
        data_prefix='Manually_Annotated_Images',
        num_classes=8,
        crop_face=True,
        with_label=False,
        pipeline=train_pipeline))
