# SFEW 2.0 (7 classes): train on Train, validate and report on Val (the
# Test labels are not public).
_base_ = ['./linear_probe_loaders.py']

data_root = 'data/sfew/'
num_classes = 7

train_dataloader = dict(
    dataset=dict(
        type='SFEW',
        data_root=data_root,
        split='train'))
val_dataloader = dict(
    dataset=dict(
        type='SFEW',
        data_root=data_root,
        split='val'))
test_dataloader = dict(
    dataset=dict(
        type='SFEW',
        data_root=data_root,
        split='val'))
