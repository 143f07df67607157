# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils import TargetNetworkEMA, check_mask_settings

# Mean and std of FER images in [0, 255] RGB, from the SimFLE authors'
# code: (0.5795, 0.4522, 0.3957) and (0.2769, 0.2473, 0.2412) times 255.
FACE_MEAN = [147.7725, 115.311, 100.9035]
FACE_STD = [70.6095, 63.0615, 61.506]


@MODELS.register_module()
class SimFLE(BaseSelfSupervisor):
    """SimFLE: self-supervised facial landmark encoding.

    Implementation of `SimFLE: Simple Facial Landmark Encoding for
    Self-Supervised Facial Expression Recognition in the Wild
    <https://arxiv.org/abs/2303.07648>`_.

    Each sample brings three views: two augmented global views and one
    face view. The global branch is BYOL: backbone, projector (``neck``)
    and predictor (``head``) against a momentum target network. The
    fine-grained branch is FaceMAE: the ``mask_generator`` picks the face
    patches that a learned channel group of the backbone activates most,
    ``facemae_neck`` reconstructs the face from them and ``rec_head``
    scores the reconstruction. Two distillation necks map the global
    features and the FaceMAE tokens into one space, where each is pulled
    towards their detached mean.

    Args:
        backbone (dict): The CNN to pretrain, e.g. mmpretrain's ResNet.
        neck (dict): Projector MLP on the pooled backbone features.
        head (dict): Predictor and similarity loss, e.g.
            ``LatentPredictHead`` with ``CosineSimilarityLoss(2, 2)``.
        mask_generator (dict): :class:`SemanticMaskGenerator` config.
        facemae_neck (dict): :class:`FaceMAENeck` config.
        rec_head (dict): :class:`FaceMAEReconstructionHead` config.
        gfl_distill_neck (dict): MLP on the pooled backbone features of
            each global view (distil_GFL).
        ffl_distill_neck (dict): MLP on the mean FaceMAE encoder token,
            class token excluded (distil_FFL).
        distill_loss (dict): :class:`DistillationKLLoss` config; its
            ``loss_weight`` is alpha.
        target_momentum (float): Weight of the online parameters in each
            target update. Defaults to 0.01.
        sync_target_buffers (bool): Copy the online BatchNorm statistics
            into the target at each update instead of letting the target
            keep its own. Defaults to False (the reference behaviour).
        data_preprocessor (dict, optional): Defaults to
            ``SelfSupDataPreprocessor`` with the FER mean and std.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 mask_generator: dict,
                 facemae_neck: dict,
                 rec_head: dict,
                 gfl_distill_neck: dict,
                 ffl_distill_neck: dict,
                 distill_loss: dict = dict(type='DistillationKLLoss'),
                 target_momentum: float = 0.01,
                 sync_target_buffers: bool = False,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='SelfSupDataPreprocessor',
                mean=FACE_MEAN,
                std=FACE_STD,
                to_rgb=True)
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not 0 < target_momentum < 1:
            raise ValueError(
                f'target_momentum={target_momentum} must be in (0, 1); '
                'SimFLE uses 0.01 (the target keeps 0.99 of itself)')

        self.mask_generator = MODELS.build(mask_generator)
        self.facemae_neck = MODELS.build(facemae_neck)
        self.rec_head = MODELS.build(rec_head)
        self.gfl_distill_neck = MODELS.build(gfl_distill_neck)
        self.ffl_distill_neck = MODELS.build(ffl_distill_neck)
        self.distill_loss = MODELS.build(distill_loss)
        self._check_branches()

        # The target network is a copy of backbone + projector that only
        # moves by the momentum update.
        self.target_net = TargetNetworkEMA(
            nn.Sequential(self.backbone, self.neck),
            momentum=target_momentum,
            sync_buffers=sync_target_buffers)

    def _check_branches(self) -> None:
        """Raise ValueError when the masking and FaceMAE settings clash."""
        generator = self.mask_generator
        facemae = self.facemae_neck
        check_mask_settings(generator.in_channels, generator.num_groups,
                            generator.img_size, generator.patch_size,
                            generator.mask_ratio)
        if (generator.img_size, generator.patch_size) != (facemae.img_size,
                                                          facemae.patch_size):
            raise ValueError(
                'mask_generator and facemae_neck must use the same image and '
                f'patch size, got mask_generator img_size='
                f'{generator.img_size}, patch_size={generator.patch_size} and '
                f'facemae_neck img_size={facemae.img_size}, '
                f'patch_size={facemae.patch_size}')
        if self.rec_head.patch_size != facemae.patch_size:
            raise ValueError(
                f'rec_head.patch_size={self.rec_head.patch_size} must equal '
                f'facemae_neck.patch_size={facemae.patch_size}')
        backbone_channels = getattr(self.backbone, 'feat_dim', None)
        if (backbone_channels is not None
                and backbone_channels != generator.in_channels):
            raise ValueError(
                f'mask_generator.in_channels={generator.in_channels} does not '
                f'match the {backbone_channels} output channels of the '
                'backbone')

    def extract_feat(self, inputs: torch.Tensor):
        """Return the backbone features of (B, 3, H, W) images."""
        return self.backbone(inputs)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute SimFLE's four weighted loss terms.

        Args:
            inputs (list[torch.Tensor]): Two global views (B, 3, Hg, Wg) and
                the face view (B, 3, Hf, Wf), in this order.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict: ``loss_sim``, ``loss_rec``, ``loss_kd`` and ``loss_group``.
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 3:
            count = len(inputs) if isinstance(inputs, (list, tuple)) else 1
            raise ValueError(
                f'SimFLE needs 3 views per image (2 global, 1 face) but got '
                f'{count}; use MultiView with num_views=[2, 1] in the '
                'training pipeline')
        view1, view2, face = inputs

        # Global branch (BYOL).
        feats1 = self.backbone(view1)  # tuple, last (B, C, h, w)
        feats2 = self.backbone(view2)
        proj1 = self.neck(feats1)[0]  # (B, 256)
        proj2 = self.neck(feats2)[0]
        with torch.no_grad():
            self.target_net.update_parameters(
                nn.Sequential(self.backbone, self.neck))
            target1 = self.target_net(view1)[0]  # (B, 256)
            target2 = self.target_net(view2)[0]
        loss_sim = (self.head.loss(proj1, target2) +
                    self.head.loss(proj2, target1))

        # Fine-grained branch (FaceMAE with semantic masking). The
        # backbone stays in training mode, as in the reference code, so
        # this pass also updates its BatchNorm running statistics.
        with torch.no_grad():
            face_feats = self.backbone(face)[-1]  # (B, C, hf, wf)
        semantic_mask = self.mask_generator(face_feats)
        latent, pred = self.facemae_neck(face, semantic_mask.ids_keep,
                                         semantic_mask.ids_restore)
        loss_rec = self.rec_head.loss(pred, face, semantic_mask.mask)

        # Distillation between the branches.
        student1 = self.gfl_distill_neck(feats1)[0]  # (B, K)
        student2 = self.gfl_distill_neck(feats2)[0]
        patch_tokens = latent[:, 1:].mean(dim=1)  # (B, D)
        student3 = self.ffl_distill_neck([patch_tokens])[0]  # (B, K)
        teacher = torch.stack([student1, student2, student3]).mean(0)
        teacher = teacher.detach()
        loss_kd = (self.distill_loss(student1, teacher) +
                   self.distill_loss(student2, teacher) +
                   self.distill_loss(student3, teacher))

        return dict(
            loss_sim=loss_sim,
            loss_rec=loss_rec,
            loss_kd=loss_kd,
            loss_group=semantic_mask.loss)
