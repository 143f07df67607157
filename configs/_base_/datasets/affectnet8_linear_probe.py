# AffectNet, 8 classes: train training.csv, validate and report on
# validation.csv (AffectNet's test set is not public). Faces are cropped to the
# CSV face boxes.
_base_ = ['./linear_probe_loaders.py']

data_root = 'data/affectnet/'
num_classes = 8

train_dataloader = dict(
    dataset=dict(
        type='AffectNet',
        data_root=data_root,
        ann_file='training.csv',
        num_classes=8,
        crop_face=True))
val_dataloader = dict(
    dataset=dict(
        type='AffectNet',
        data_root=data_root,
        ann_file='validation.csv',
        num_classes=8,
        crop_face=True))
test_dataloader = dict(
    dataset=dict(
        type='AffectNet',
        data_root=data_root,
        ann_file='validation.csv',
        num_classes=8,
        crop_face=True))
