# Linear probe of a SimFLE ResNet-50 on affectnet8: frozen trunk, one linear
# layer, SGD lr 2.0 (batch 8 x 128), constant, 100 epochs.
# Usage:
#   bash tools/dist_train.sh configs/simfle/benchmarks/resnet50_linear-8xb128-constlr-100e_affectnet8.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=CHECKPOINT
_base_ = [
    '../../_base_/models/linear_probe_r50.py',
    '../../_base_/datasets/affectnet8_linear_probe.py',
    '../../_base_/schedules/sgd_constlr_100e_linear_probe.py',
    '../../_base_/linear_probe_runtime.py',
]

model = dict(
    data_preprocessor=dict(num_classes=8),
    head=dict(num_classes=8))
