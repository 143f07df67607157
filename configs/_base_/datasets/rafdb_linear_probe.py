# RAF-DB basic emotions (7 classes), aligned faces: train on train_*,
# validate and report on test_*.
_base_ = ['./linear_probe_loaders.py']

data_root = 'data/rafdb/basic/'
num_classes = 7

train_dataloader = dict(
    dataset=dict(
        type='RAFDB',
        data_root=data_root,
        split='train',
        aligned=True))
val_dataloader = dict(
    dataset=dict(
        type='RAFDB',
        data_root=data_root,
        split='test',
        aligned=True))
test_dataloader = dict(
    dataset=dict(
        type='RAFDB',
        data_root=data_root,
        split='test',
        aligned=True))
