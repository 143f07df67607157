# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import math

import pytest
import torch
from mmpretrain.models.losses import CosineSimilarityLoss

from mmsimfle.models import (ChannelGroupingLoss, DistillationKLLoss,
                             FaceMAEReconstructionHead)


def test_grouping_loss_matches_reference_vector():
    # B=2, C=8, h=w=2, G=2; the reference layer gives g = 81.41903.
    activations = (torch.arange(2 * 8 * 2 * 2, dtype=torch.float32).reshape(
        2, 8, 2, 2) % 7) / 7
    unsquared = ChannelGroupingLoss(
        num_groups=2, squared=False, loss_weight=1.0)
    squared = ChannelGroupingLoss(num_groups=2, squared=True, loss_weight=1.0)

    assert unsquared(activations).item() == pytest.approx(81.41903, rel=1e-6)
    assert squared(activations).item() == pytest.approx(6629.06, rel=1e-5)


def test_grouping_loss_all_equal_channels():
    # Every channel equal -> S is all ones:
    # g = 0.001 * (2048^2 - 2048 * 64) / (2048 / 512)^2 = 253.952.
    activations = torch.full((3, 2048, 4, 4), 0.7)
    distance = ChannelGroupingLoss(num_groups=32).distance(activations)
    weighted = ChannelGroupingLoss(num_groups=32)(activations)

    assert distance.item() == pytest.approx(253.952, rel=1e-6)
    assert weighted.item() == pytest.approx(0.03 * 253.952**2, rel=1e-6)
    assert weighted.item() == pytest.approx(1934.75, abs=0.01)


def test_grouping_loss_hand_computed_two_channels():
    # Two orthogonal channels (shift 0): S is the identity.
    activations = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # (1, 2, 1, 2)
    one_group = ChannelGroupingLoss(
        num_groups=1, shift=0.0, squared=False, loss_weight=1.0)
    two_groups = ChannelGroupingLoss(
        num_groups=2, shift=0.0, squared=False, loss_weight=1.0)

    # One group: T is all ones, sum((I - 1)^2) = 2, divided by (2/512)^2.
    assert one_group(activations).item() == pytest.approx(
        0.001 * 2 / (2 / 512)**2)
    # Two groups of one channel: T is the identity, so g = 0.
    assert two_groups(activations).item() == pytest.approx(0.0, abs=1e-9)


def test_grouping_loss_target_is_block_diagonal():
    target = ChannelGroupingLoss(num_groups=2).group_target(
        4, torch.device('cpu'))
    expected = torch.tensor([[1., 1., 0., 0.], [1., 1., 0., 0.],
                             [0., 0., 1., 1.], [0., 0., 1., 1.]])
    assert torch.equal(target, expected)


def test_grouping_loss_rejects_indivisible_channels():
    loss = ChannelGroupingLoss(num_groups=3)
    with pytest.raises(ValueError, match='num_groups=3'):
        loss(torch.ones(1, 8, 2, 2))


def test_distillation_loss_hand_computed():
    # teacher / T = [ln 3, 0] -> p = [3/4, 1/4]; student -> q = [1/2, 1/2].
    temperature = 4.0
    teacher = torch.tensor([[temperature * math.log(3.0), 0.0]] * 2)
    student = torch.zeros(2, 2, requires_grad=True)
    kl = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    expected = 0.3 * temperature**2 * kl

    loss = DistillationKLLoss(temperature=temperature, loss_weight=0.3)(
        student, teacher)

    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert loss.item() == pytest.approx(0.627897, rel=1e-5)


def test_distillation_loss_gradient_reaches_student_only():
    teacher = torch.randn(3, 5, requires_grad=True)
    student = torch.randn(3, 5, requires_grad=True)
    DistillationKLLoss()(student, teacher).backward()

    assert student.grad is not None
    assert student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_distillation_loss_zero_for_equal_logits():
    logits = torch.randn(4, 8)
    assert DistillationKLLoss()(logits, logits).item() == pytest.approx(
        0.0, abs=1e-6)


def test_similarity_loss_is_two_minus_two_cosine():
    # The configs use CosineSimilarityLoss(shift 2, scale 2), batch mean.
    loss = CosineSimilarityLoss(shift_factor=2.0, scale_factor=2.0)
    pred = torch.tensor([[1.0, 0.0], [2.0, 0.0], [1.0, 1.0]])
    target = torch.tensor([[0.0, 3.0], [5.0, 0.0], [-1.0, -1.0]])
    # cosines: 0, 1, -1 -> distances 2, 0, 4 -> mean 2.
    assert loss(pred, target).item() == pytest.approx(2.0)


def test_reconstruction_head_equals_hand_normalised_pixel_loss():
    """mmpretrain's MAEPretrainHead computes exactly SimFLE's L_rec."""
    torch.manual_seed(0)
    patch = 2
    img = torch.randn(2, 3, 4, 4)
    pred = torch.randn(2, 4, patch * patch * 3)
    mask = torch.tensor([[1., 0., 0., 1.], [0., 1., 1., 1.]])
    head = FaceMAEReconstructionHead(patch_size=patch)

    # Hand version: cut patches row-major, (p, q, c) order inside a patch.
    expected_sum, masked = 0.0, 0
    for b in range(2):
        for index in range(4):
            row, col = divmod(index, 2)
            pixels = img[b, :, row * patch:(row + 1) * patch,
                         col * patch:(col + 1) * patch]
            target = pixels.permute(1, 2, 0).reshape(-1)
            target = (target - target.mean()) / (target.var() + 1e-6)**0.5
            if mask[b, index] == 1:
                expected_sum += ((pred[b, index] - target)**2).mean().item()
                masked += 1

    loss = head.loss(pred, img, mask)
    assert loss.item() == pytest.approx(expected_sum / masked, rel=1e-5)


def test_reconstruction_loss_of_zero_prediction():
    # Predicting 0 for a normalised patch of n values costs (n-1)/n
    # (unbiased variance), up to the 1e-6 in the denominator.
    img = torch.randn(1, 3, 4, 4) * 5
    pred = torch.zeros(1, 4, 12)
    mask = torch.ones(1, 4)
    loss = FaceMAEReconstructionHead(patch_size=2).loss(pred, img, mask)
    assert loss.item() == pytest.approx(11 / 12, rel=1e-4)
