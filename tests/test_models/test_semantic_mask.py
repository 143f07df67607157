# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import pytest
import torch

from mmsimfle.models import SemanticMaskGenerator, num_kept_patches

REFERENCE_MAP = torch.tensor([[0., 1., 0., 0.], [2., 5., 3., 0.],
                              [0., 4., 1., 0.], [0., 0., 0., 6.]])


def make_generator(**kwargs) -> SemanticMaskGenerator:
    settings = dict(in_channels=8, num_groups=2, img_size=112, patch_size=16)
    settings.update(kwargs)
    return SemanticMaskGenerator(**settings)


def test_patch_scores_match_reference_vector():
    generator = make_generator()
    scores = generator.patch_scores(REFERENCE_MAP[None, None])  # (1, 49)

    assert scores.shape == (1, 49)
    assert scores[0, 48].item() == pytest.approx(5.9466, abs=1e-4)
    assert scores[0, 31].item() == pytest.approx(2.2812, abs=1e-4)
    assert scores[0, 22].item() == pytest.approx(2.25, abs=1e-4)


def test_semantic_mask_keeps_most_active_patches():
    generator = make_generator()
    scores = generator.patch_scores(REFERENCE_MAP[None, None])
    ids_keep, mask, ids_restore = generator.select_patches(scores)

    expected = {15, 16, 17, 18, 23, 24, 30, 31, 40, 41, 47, 48}
    assert set(ids_keep[0].tolist()) == expected
    assert ids_keep[0, 0].item() == 48  # highest mean first
    assert ids_keep[0, -1].item() == 31  # 12th highest
    assert mask.shape == (1, 49)
    assert mask.sum().item() == 37
    assert set(torch.nonzero(mask[0] == 0).flatten().tolist()) == expected
    assert mask[0, 22].item() == 1  # 13th highest is the first masked


def test_ids_restore_puts_tokens_back_in_patch_order():
    generator = make_generator()
    scores = torch.rand(3, 49)
    ids_keep, mask, ids_restore = generator.select_patches(scores)
    ids_masked = torch.nonzero(mask[0]).flatten()
    shuffled = torch.cat([ids_keep[0], ids_masked[torch.argsort(
        -scores[0, ids_masked], stable=True)]])

    assert torch.equal(shuffled[ids_restore[0]], torch.arange(49))
    assert ids_keep.shape == (3, 12)
    assert torch.equal(mask.sum(1), torch.full((3, ), 37.))


def test_equal_scores_give_random_kept_patches():
    generator = make_generator()
    torch.manual_seed(0)
    ids_keep, mask, _ = generator.select_patches(torch.zeros(2, 49))

    assert ids_keep.shape == (2, 12)
    assert mask.sum().item() == 2 * 37
    assert set(ids_keep[0].tolist()) != set(ids_keep[1].tolist())
    assert set(ids_keep[0].tolist()) != set(range(12))


def test_ties_below_cut_keep_set():
    # Patches 0-11 score 2, the rest tie at 1: the kept set is fixed.
    generator = make_generator()
    scores = torch.ones(4, 49)
    scores[:, :12] = 2.0
    ids_keep, _, _ = generator.select_patches(scores)
    for row in ids_keep:
        assert set(row.tolist()) == set(range(12))


def test_mask_follows_chosen_channel_group():
    # Group 0 (channels 0-3) fires top-left, group 1 (4-7) bottom-right.
    generator = make_generator(img_size=32, patch_size=16, mask_ratio=0.75)
    group_maps = torch.zeros(1, 2, 4, 2, 2)  # (B, G, M, h, w)
    group_maps[0, 0, :, 0, 0] = 1.0
    group_maps[0, 1, :, 1, 1] = 1.0
    activations = group_maps.flatten(1, 2)  # (1, 8, 2, 2)
    generator.group_activations = lambda feats: activations

    first = generator(torch.zeros(1, 8, 2, 2), group_ids=torch.tensor([0]))
    second = generator(torch.zeros(1, 8, 2, 2), group_ids=torch.tensor([1]))

    assert first.ids_keep.tolist() == [[0]]  # top-left of 2x2 patches
    assert second.ids_keep.tolist() == [[3]]  # bottom-right
    assert first.group_ids.tolist() == [0]


def test_random_group_per_sample():
    generator = make_generator(in_channels=64, num_groups=32, img_size=32)
    torch.manual_seed(0)
    result = generator(torch.randn(256, 64, 2, 2))

    assert result.group_ids.shape == (256, )
    assert result.group_ids.min().item() >= 0
    assert result.group_ids.max().item() <= 31
    assert len(set(result.group_ids.tolist())) > 20


def test_reference_init_makes_every_channel_equal():
    generator = make_generator(in_channels=2048, num_groups=32)
    torch.manual_seed(0)
    result = generator(torch.randn(2, 2048, 4, 4))

    assert torch.all(generator.conv.weight == 1.0)
    assert torch.all(generator.conv.bias == 0.1)
    # L_group = 0.03 * 253.952^2 on any input at the first step.
    assert result.loss.item() == pytest.approx(1934.75, abs=0.01)


def test_reference_init_gives_grouping_conv_no_gradient():
    # S = 1 everywhere is the maximum of the cosine, so the gradient of the
    # grouping loss vanishes up to rounding; PyTorch's default init trains.
    torch.manual_seed(0)
    feats = torch.randn(2, 64, 2, 2)
    gradients = {}
    for reference_init in (True, False):
        torch.manual_seed(1)
        generator = make_generator(
            in_channels=64, num_groups=4, img_size=32,
            reference_init=reference_init)
        generator(feats).loss.backward()
        gradients[reference_init] = generator.conv.weight.grad.abs().max()

    assert gradients[True].item() < 1e-3
    assert gradients[False].item() > 1.0


def test_generator_detaches_backbone_features():
    generator = make_generator(in_channels=8, num_groups=2, img_size=32)
    feats = torch.randn(2, 8, 2, 2, requires_grad=True)
    generator(feats).loss.backward()
    assert feats.grad is None


def test_num_kept_patches_rounds_down():
    assert num_kept_patches(49, 0.75) == 12
    assert num_kept_patches(36, 0.75) == 9
    assert num_kept_patches(49, 0.7) == 14  # 14.7 -> 14
    assert num_kept_patches(10, 0.7) == 3  # 10 * 0.3 is 2.9999... in floats


@pytest.mark.parametrize('kwargs, message', [
    (dict(img_size=100, patch_size=16), 'img_size=100 must be divisible'),
    (dict(in_channels=10, num_groups=4), 'num_groups=4 must be a positive'),
    (dict(mask_ratio=0.0), r'mask_ratio=0.0 must be in the open interval'),
    (dict(mask_ratio=1.0), r'mask_ratio=1.0 must be in the open interval'),
    (dict(img_size=32, patch_size=16, mask_ratio=0.8),
     'keeps no patch of the 4 patches'),
])
def test_invalid_mask_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_generator(**kwargs)


def test_wrong_backbone_channels_are_rejected():
    generator = make_generator(in_channels=8, num_groups=2, img_size=32)
    with pytest.raises(ValueError, match='in_channels=8'):
        generator(torch.randn(1, 16, 2, 2))
