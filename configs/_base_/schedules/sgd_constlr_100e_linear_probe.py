# Linear probe schedule: SGD, momentum 0.9, no weight decay, constant
# lr = 0.5 * total_batch / 256 (2.0 at batch 1024), 100 epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=2.0, momentum=0.9, weight_decay=0.))

param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=100)
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=1024)
