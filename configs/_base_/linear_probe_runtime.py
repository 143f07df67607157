# Runtime of the linear-probe configs. The result is the test split after the
# last epoch, which tools/train.py runs after training. The checkpoint of the
# best validation epoch is kept beside it, with "best" in its file name.
_base_ = ['./default_runtime.py']

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='CheckpointHook',
        interval=10,
        max_keep_ckpts=1,
        save_best='expression/top1',
        rule='greater'))
custom_hooks = []

val_evaluator = dict(type='ExpressionMetric', file_prefix='val')
test_evaluator = dict(type='ExpressionMetric', file_prefix='test')
