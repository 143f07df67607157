default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmsimfle'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# RandomStateHook stores the random generator states in each checkpoint, so
# that --resume repeats the random draws of an uninterrupted run.
# NonFiniteLossHook stops training at the first NaN or inf loss term, before
# the backward pass, and never writes a checkpoint with NaN or inf weights.
custom_hooks = [
    dict(type='SimFLEInfoHook'),
    dict(type='RandomStateHook'),
    dict(type='NonFiniteLossHook', action='raise'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(window_size=10)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
