# Pipelines and loader settings shared by the linear-probe data configs:
# RandomResizedCrop(224) and flips for training, a plain resize to 224 for
# validation and testing. Training skips an unreadable image with a warning;
# evaluation stops on one, so that every test image counts.
train_pipeline = [
    dict(type='LoadFaceImage', on_error='skip'),
    dict(type='CropFaceBox'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadFaceImage', on_error='raise'),
    dict(type='CropFaceBox'),
    dict(type='Resize', scale=(224, 224), backend='pillow'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
