# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmpretrain.registry import MODELS

from conftest import R50_CONFIG, tiny_simfle_cfg
from mmsimfle.engine import count_parameters
from mmsimfle.models import FaceMAENeck, TargetNetworkEMA

LOSS_KEYS = ('loss_sim', 'loss_rec', 'loss_kd', 'loss_group')


def build(cfg: dict):
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model.train()


def views(batch: int = 2, global_size: int = 32, face_size: int = 32):
    torch.manual_seed(123)
    return [
        torch.randn(batch, 3, global_size, global_size),
        torch.randn(batch, 3, global_size, global_size),
        torch.randn(batch, 3, face_size, face_size),
    ]


@pytest.mark.parametrize('depth, size, shape', [
    (50, 224, (2, 2048, 7, 7)),
    (50, 112, (2, 2048, 4, 4)),
    (18, 112, (2, 512, 4, 4)),
    (18, 224, (2, 512, 7, 7)),
])
def test_backbone_feature_shapes(depth, size, shape):
    model = MODELS.build(tiny_simfle_cfg(depth=depth))
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(2, 3, size, size))
    assert feats[-1].shape == shape


def test_facemae_shapes_at_112():
    neck = FaceMAENeck(
        img_size=112,
        patch_size=16,
        arch=dict(
            embed_dims=32, num_layers=1, num_heads=2,
            feedforward_channels=64),
        decoder_embed_dim=16,
        decoder_depth=1,
        decoder_num_heads=2)
    neck.init_weights()
    ids_shuffle = torch.argsort(torch.rand(2, 49), dim=1)
    ids_keep = ids_shuffle[:, :12]
    ids_restore = torch.argsort(ids_shuffle, dim=1)

    latent, pred = neck(torch.randn(2, 3, 112, 112), ids_keep, ids_restore)

    assert neck.num_patches == 49
    assert latent.shape == (2, 1 + 12, 32)
    assert pred.shape == (2, 49, 16 * 16 * 3)


def test_facemae_encoder_sees_only_kept_patches():
    neck = FaceMAENeck(
        img_size=32,
        patch_size=16,
        arch=dict(
            embed_dims=16, num_layers=1, num_heads=2,
            feedforward_channels=32),
        decoder_embed_dim=16,
        decoder_depth=1,
        decoder_num_heads=2).eval()
    neck.init_weights()
    img = torch.randn(1, 3, 32, 32)
    changed = img.clone()
    changed[:, :, 16:, 16:] += 10.0  # patch 3 only
    ids_keep = torch.tensor([[0, 1]])
    ids_restore = torch.tensor([[0, 1, 2, 3]])

    latent, _ = neck(img, ids_keep, ids_restore)
    latent_changed, _ = neck(changed, ids_keep, ids_restore)

    assert torch.allclose(latent, latent_changed)


def test_facemae_rejects_wrong_face_size():
    neck = FaceMAENeck(
        img_size=32,
        patch_size=16,
        arch=dict(
            embed_dims=16, num_layers=1, num_heads=2,
            feedforward_channels=32),
        decoder_embed_dim=16,
        decoder_depth=1,
        decoder_num_heads=2)
    with pytest.raises(ValueError, match='expects face views of 32x32'):
        neck(
            torch.randn(1, 3, 48, 48), torch.tensor([[0]]),
            torch.arange(4)[None])


def test_simfle_loss_terms_are_finite_and_positive():
    model = build(tiny_simfle_cfg())
    losses = model.loss(views(), None)

    assert sorted(losses) == sorted(LOSS_KEYS)
    for key in LOSS_KEYS:
        assert losses[key].ndim == 0
        assert torch.isfinite(losses[key]), key
    # d(p, t) = 2 - 2 cos lies in [0, 4] for each of the two pairs.
    assert 0 <= losses['loss_sim'].item() <= 8
    # Reference init: 0.03 * 253.952^2 for any C (here 512, 4 groups).
    assert losses['loss_group'].item() == pytest.approx(
        0.03 * (0.001 * (512**2 - 512 * 128))**2, rel=1e-5)


def test_simfle_rejects_wrong_number_of_views():
    model = build(tiny_simfle_cfg())
    with pytest.raises(ValueError, match='needs 3 views per image'):
        model.loss(views()[:2], None)


def _parameter_groups(model):
    return {
        'backbone': model.backbone,
        'grouping': model.mask_generator,
        'facemae': model.facemae_neck,
        'projector': model.neck,
        'predictor': model.head,
        'gfl_distill': model.gfl_distill_neck,
        'ffl_distill': model.ffl_distill_neck,
        'target': model.target_net,
    }


def _has_gradient(module: nn.Module) -> bool:
    return any(p.grad is not None and p.grad.abs().sum() > 0
               for p in module.parameters())


@pytest.mark.parametrize('term, receives', [
    ('loss_sim', {'backbone', 'projector', 'predictor'}),
    ('loss_kd', {'backbone', 'facemae', 'gfl_distill', 'ffl_distill'}),
    ('loss_rec', {'facemae'}),
    ('loss_group', {'grouping'}),
])
def test_gradient_flow_per_loss_term(term, receives):
    # PyTorch's default init for the grouping conv: with the reference
    # init its gradient vanishes (see test_semantic_mask.py).
    cfg = tiny_simfle_cfg(mask_generator=dict(reference_init=False))
    model = build(cfg)
    losses = model.loss(views(), None)
    model.zero_grad(set_to_none=True)
    losses[term].backward()

    groups = _parameter_groups(model)
    got = {name for name, module in groups.items() if _has_gradient(module)}
    assert got == receives


def test_target_network_is_never_trained_by_gradients():
    model = build(tiny_simfle_cfg())
    assert all(not p.requires_grad for p in model.target_net.parameters())
    losses = model.loss(views(), None)
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.target_net.parameters())


def test_target_network_momentum_update():
    online = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    target = TargetNetworkEMA(online, momentum=0.01)
    with torch.no_grad():
        online[0].weight.fill_(1.0)
    target.update_parameters(online)  # first update copies
    assert torch.all(target.module[0].weight == 1.0)

    with torch.no_grad():
        online[0].weight.fill_(3.0)
    target.update_parameters(online)
    # 0.99 * 1 + 0.01 * 3 = 1.02
    assert torch.allclose(target.module[0].weight, torch.full((2, 2), 1.02))
    target.update_parameters(online)
    assert torch.allclose(target.module[0].weight,
                          torch.full((2, 2), 0.99 * 1.02 + 0.03))


def test_target_network_keeps_own_batchnorm_statistics():
    online = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    own = TargetNetworkEMA(online, momentum=0.01)
    synced = TargetNetworkEMA(online, momentum=0.01, sync_buffers=True)
    online[1].running_mean.fill_(5.0)
    own.module[1].running_mean.fill_(-1.0)

    own.update_parameters(online)
    synced.update_parameters(online)

    assert torch.all(own.module[1].running_mean == -1.0)
    assert torch.all(synced.module[1].running_mean == 5.0)


def test_simfle_updates_target_before_each_forward():
    model = build(tiny_simfle_cfg())
    model.loss(views(), None)  # first call copies the online weights
    first_online = model.backbone.conv1.weight.detach().clone()
    target = model.target_net.module[0].conv1.weight
    assert torch.equal(target, first_online)

    with torch.no_grad():
        model.backbone.conv1.weight.add_(1.0)
    model.loss(views(), None)
    assert torch.allclose(target, first_online + 0.01, atol=1e-6)


def test_loss_weights_scale_terms():
    torch.manual_seed(0)
    weighted_cfg = tiny_simfle_cfg()
    unit_cfg = tiny_simfle_cfg(
        distill_loss=dict(loss_weight=1.0),
        mask_generator=dict(loss=dict(
            type='ChannelGroupingLoss', squared=True, loss_weight=1.0)))
    weighted = build(weighted_cfg)
    unit = build(unit_cfg)
    unit.load_state_dict(weighted.state_dict())

    torch.manual_seed(7)
    weighted_losses = weighted.loss(views(), None)
    torch.manual_seed(7)
    unit_losses = unit.loss(views(), None)

    assert weighted_losses['loss_kd'].item() == pytest.approx(
        0.3 * unit_losses['loss_kd'].item(), rel=1e-5)
    assert weighted_losses['loss_group'].item() == pytest.approx(
        0.03 * unit_losses['loss_group'].item(), rel=1e-5)
    assert weighted_losses['loss_sim'].item() == pytest.approx(
        unit_losses['loss_sim'].item(), rel=1e-5)
    assert weighted_losses['loss_rec'].item() == pytest.approx(
        unit_losses['loss_rec'].item(), rel=1e-5)


@pytest.mark.parametrize('override, message', [
    (dict(mask_generator=dict(in_channels=256)),
     'does not match the 512 output channels'),
    (dict(facemae_neck=dict(img_size=64)),
     'must use the same image and patch size'),
    (dict(rec_head=dict(patch_size=8)), 'rec_head.patch_size=8'),
    (dict(target_momentum=1.5), 'target_momentum=1.5'),
])
def test_invalid_model_settings_are_rejected(override, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(tiny_simfle_cfg(**override))


def test_r50_affectnet_config_builds_and_runs_forward():
    cfg = Config.fromfile(str(R50_CONFIG))
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    total, trainable = count_parameters(model)

    # The method's reference: about 198 M in total, 165 M trainable.
    assert total / 1e6 == pytest.approx(198, abs=1.5)
    assert trainable / 1e6 == pytest.approx(165, abs=1.5)
    assert model.mask_generator.num_patches == 49
    assert model.mask_generator.num_keep == 12

    data = dict(
        inputs=[
            torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8),
            torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8),
            torch.randint(0, 256, (2, 3, 112, 112), dtype=torch.uint8),
        ],
        data_samples=None)
    data = model.data_preprocessor(data, training=True)
    losses = model(**data, mode='loss')

    assert sorted(losses) == sorted(LOSS_KEYS)
    assert all(torch.isfinite(value) for value in losses.values())
    assert losses['loss_group'].item() == pytest.approx(1934.75, abs=0.01)
