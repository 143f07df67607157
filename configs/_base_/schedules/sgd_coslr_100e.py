# SGD, momentum 0.9, weight decay 1e-4 on every parameter; the learning rate
# follows lr = 0.05 * total_batch / 256 (0.05 at batch 256) and decays to 0
# over 100 epochs with a cosine, stepped once per epoch, without warm-up.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))

param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=100,
        eta_min=0.,
        by_epoch=True,
        begin=0,
        end=100,
        convert_to_iter_based=False)
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)

# `tools/train.py --auto-scale-lr` rescales lr from this batch size.
auto_scale_lr = dict(base_batch_size=256)
