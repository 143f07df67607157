# SimFLE reference recipe: ResNet-50 + ViT-B FaceMAE at 112, 8 GPUs x 64
# images, SGD lr 0.05 x 512 / 256, cosine over 100 epochs, on the AffectNet
# training images in their official layout under data/affectnet/.
_base_ = [
    '../_base_/models/simfle_r50.py',
    '../_base_/datasets/affectnet_simfle.py',
    '../_base_/schedules/sgd_coslr_100e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=0.05 * 8 * 64 / 256))

# BatchNorm layers become SyncBatchNorm in distributed GPU runs; a single
# process keeps plain BatchNorm.
sync_bn = 'torch'

# `tools/train.py --auto-scale-lr` rescales lr for another total batch.
auto_scale_lr = dict(base_batch_size=512)
