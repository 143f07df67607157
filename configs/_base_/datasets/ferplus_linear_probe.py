# FERPlus, majority protocol (8 classes): train FER2013Train, validate
# FER2013Valid, report FER2013Test. Layout: data/ferplus/FER2013*/label.csv.
_base_ = ['./linear_probe_loaders.py']

data_root = 'data/ferplus/'
num_classes = 8

train_dataloader = dict(
    dataset=dict(
        type='FERPlus',
        data_root=data_root,
        split='train',
        label_mode='majority'))
val_dataloader = dict(
    dataset=dict(
        type='FERPlus',
        data_root=data_root,
        split='valid',
        label_mode='majority'))
test_dataloader = dict(
    dataset=dict(
        type='FERPlus',
        data_root=data_root,
        split='test',
        label_mode='majority'))
