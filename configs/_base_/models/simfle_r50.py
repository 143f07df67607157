# SimFLE with a ResNet-50 backbone and a ViT-B FaceMAE on 112x112 faces.
model = dict(
    type='SimFLE',
    # Mean and std of FER images (RGB, [0, 255]), shared by all three views.
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[147.7725, 115.311, 100.9035],
        std=[70.6095, 63.0615, 61.506],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    # Projector: Linear 2048->4096, BN, ReLU, Linear 4096->256.
    neck=dict(
        type='NonLinearNeck',
        in_channels=2048,
        hid_channels=4096,
        out_channels=256,
        num_layers=2,
        with_bias=True,
        with_last_bias=True,
        with_last_bn=False,
        with_avg_pool=True,
        norm_cfg=dict(type='BN1d')),
    # Predictor and d(a, b) = 2 - 2 cos(a, b), batch mean.
    head=dict(
        type='LatentPredictHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=4096,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bias=True,
            with_last_bn=False,
            with_avg_pool=False,
            norm_cfg=dict(type='BN1d')),
        loss=dict(
            type='CosineSimilarityLoss', shift_factor=2.0, scale_factor=2.0)),
    mask_generator=dict(
        type='SemanticMaskGenerator',
        in_channels=2048,
        num_groups=32,
        img_size=112,
        patch_size=16,
        mask_ratio=0.75,
        reference_init=True,
        # beta = 0.03; squared=True optimises g^2 as the reference code.
        loss=dict(type='ChannelGroupingLoss', squared=True, loss_weight=0.03)),
    facemae_neck=dict(
        type='FaceMAENeck',
        img_size=112,
        patch_size=16,
        arch='b',
        decoder_embed_dim=512,
        decoder_depth=8,
        decoder_num_heads=16,
        mlp_ratio=4),
    rec_head=dict(
        type='FaceMAEReconstructionHead',
        patch_size=16,
        norm_pix=True,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    # distil_GFL: pooled backbone features of each global view.
    gfl_distill_neck=dict(
        type='NonLinearNeck',
        in_channels=2048,
        hid_channels=4096,
        out_channels=256,
        num_layers=2,
        with_bias=True,
        with_last_bias=True,
        with_last_bn=False,
        with_avg_pool=True,
        norm_cfg=dict(type='BN1d')),
    # distil_FFL: mean FaceMAE encoder token, class token excluded.
    ffl_distill_neck=dict(
        type='NonLinearNeck',
        in_channels=768,
        hid_channels=4096,
        out_channels=256,
        num_layers=2,
        with_bias=True,
        with_last_bias=True,
        with_last_bn=False,
        with_avg_pool=False,
        norm_cfg=dict(type='BN1d')),
    # alpha = 0.3, temperature 4.
    distill_loss=dict(type='DistillationKLLoss', temperature=4.0, loss_weight=0.3),
    # The target keeps 0.99 of itself per step.
    target_momentum=0.01,
    sync_target_buffers=False)
