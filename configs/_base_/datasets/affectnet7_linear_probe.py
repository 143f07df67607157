# AffectNet, 7 classes (contempt left out): train training.csv, validate
# and report on validation.csv. Faces are cropped to the CSV face boxes.
data_root = 'data/affectnet/'
num_classes = 7

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

train_dataloader = dict(batch_size=128,
                        num_workers=8,
                        persistent_workers=True,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        collate_fn=dict(type='default_collate'),
                        dataset=dict(type='AffectNet',
                                     data_root=data_root,
                                     ann_file='training.csv',
                                     num_classes=7,
                                     crop_face=True,
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=128,
                      num_workers=8,
                      persistent_workers=True,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      collate_fn=dict(type='default_collate'),
                      dataset=dict(type='AffectNet',
                                   data_root=data_root,
                                   ann_file='validation.csv',
                                   num_classes=7,
                                   crop_face=True,
                                   pipeline=test_pipeline))
test_dataloader = dict(batch_size=128,
                       num_workers=8,
                       persistent_workers=True,
                       sampler=dict(type='DefaultSampler', shuffle=False),
                       collate_fn=dict(type='default_collate'),
                       dataset=dict(type='AffectNet',
                                    data_root=data_root,
                                    ann_file='validation.csv',
                                    num_classes=7,
                                    crop_face=True,
                                    pipeline=test_pipeline))
