# RAF-DB basic emotions (7 classes), aligned faces: train on train_*,
# validate and report on test_*.
data_root = 'data/rafdb/basic/'
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
                        dataset=dict(type='RAFDB',
                                     data_root=data_root,
                                     split='train',
                                     aligned=True,
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=128,
                      num_workers=8,
                      persistent_workers=True,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      collate_fn=dict(type='default_collate'),
                      dataset=dict(type='RAFDB',
                                   data_root=data_root,
                                   split='test',
                                   aligned=True,
                                   pipeline=test_pipeline))
test_dataloader = dict(batch_size=128,
                       num_workers=8,
                       persistent_workers=True,
                       sampler=dict(type='DefaultSampler', shuffle=False),
                       collate_fn=dict(type='default_collate'),
                       dataset=dict(type='RAFDB',
                                    data_root=data_root,
                                    split='test',
                                    aligned=True,
                                    pipeline=test_pipeline))
