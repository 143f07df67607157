# FERPlus, majority protocol (8 classes): train FER2013Train, validate
# FER2013Valid, report FER2013Test. Layout: data/ferplus/FER2013*/label.csv.
data_root = 'data/ferplus/'
num_classes = 8

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
                        dataset=dict(type='FERPlus',
                                     data_root=data_root,
                                     split='train',
                                     label_mode='majority',
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=128,
                      num_workers=8,
                      persistent_workers=True,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      collate_fn=dict(type='default_collate'),
                      dataset=dict(type='FERPlus',
                                   data_root=data_root,
                                   split='valid',
                                   label_mode='majority',
                                   pipeline=test_pipeline))
test_dataloader = dict(batch_size=128,
                       num_workers=8,
                       persistent_workers=True,
                       sampler=dict(type='DefaultSampler', shuffle=False),
                       collate_fn=dict(type='default_collate'),
                       dataset=dict(type='FERPlus',
                                    data_root=data_root,
                                    split='test',
                                    label_mode='majority',
                                    pipeline=test_pipeline))
