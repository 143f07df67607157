# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.models.necks import MAEPretrainDecoder
from mmpretrain.models.selfsup import MAEViT
from mmpretrain.registry import MODELS


class FaceMAEViT(MAEViT):
    """MAE's ViT encoder over the patches chosen by a semantic mask.

    It reuses mmpretrain's ``MAEViT`` (patch embedding, fixed 2-D sine-cosine
    position embeddings, class token, transformer layers, final LayerNorm)
    and replaces its random masking with given patch indices.
    """

    def forward(self, x: torch.Tensor,
                ids_keep: torch.Tensor) -> torch.Tensor:
        """Encode the kept patches of (B, 3, H, W) images.

        Args:
            x (torch.Tensor): Images (B, 3, H, W).
            ids_keep (torch.Tensor): Kept patch indices (B, K).

        Returns:
            torch.Tensor: Tokens (B, 1 + K, D), class token first.
        """
        batch_size = x.shape[0]
        x = self.patch_embed(x)[0]  # (B, L, D)
        x = x + self.pos_embed[:, 1:, :]

        index = ids_keep.unsqueeze(-1).expand(-1, -1, x.shape[-1])
        x = torch.gather(x, dim=1, index=index)  # (B, K, D)

        cls_token = self.cls_token + self.pos_embed[:, :1, :]  # (1, 1, D)
        x = torch.cat((cls_token.expand(batch_size, -1, -1), x), dim=1)

        for layer in self.layers:
            x = layer(x)
        return self.norm1(x)  # (B, 1 + K, D)


@MODELS.register_module()
class FaceMAENeck(BaseModule):
    """FaceMAE of SimFLE: a masked autoencoder of the face view.

    The encoder (a ViT, :class:`FaceMAEViT`) encodes only the patches kept
    by the semantic mask plus a class token. The decoder (mmpretrain's
    ``MAEPretrainDecoder``, with a learned mask token and fixed sine-cosine
    position embeddings) predicts the pixels of every patch.

    Args:
        img_size (int): Side of the square face view. Defaults to 112.
        patch_size (int): Side of a patch. Defaults to 16.
        arch (str | dict): Encoder architecture of mmpretrain's
            ``VisionTransformer``; ``'b'`` is ViT-B (width 768, depth 12,
            12 heads, MLP ratio 4). Defaults to ``'b'``.
        decoder_embed_dim (int): Decoder width. Defaults to 512.
        decoder_depth (int): Decoder layers. Defaults to 8.
        decoder_num_heads (int): Decoder attention heads. Defaults to 16.
        mlp_ratio (int): Decoder MLP ratio. Defaults to 4.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 img_size: int = 112,
                 patch_size: int = 16,
                 arch='b',
                 decoder_embed_dim: int = 512,
                 decoder_depth: int = 8,
                 decoder_num_heads: int = 16,
                 mlp_ratio: int = 4,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if patch_size < 1 or img_size % patch_size != 0:
            raise ValueError(
                f'facemae_neck.img_size={img_size} must be divisible by '
                f'facemae_neck.patch_size={patch_size}')
        self.img_size = img_size
        self.patch_size = patch_size
        self.encoder = FaceMAEViT(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            norm_cfg=dict(type='LN', eps=1e-6))
        self.num_patches = self.encoder.num_patches
        self.embed_dims = self.encoder.embed_dims
        self.decoder = MAEPretrainDecoder(
            num_patches=self.num_patches,
            patch_size=patch_size,
            in_chans=3,
            embed_dim=self.embed_dims,
            decoder_embed_dim=decoder_embed_dim,
            decoder_depth=decoder_depth,
            decoder_num_heads=decoder_num_heads,
            mlp_ratio=mlp_ratio,
            norm_cfg=dict(type='LN', eps=1e-6))

    def forward(self, img: torch.Tensor, ids_keep: torch.Tensor,
                ids_restore: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode the kept patches and predict every patch's pixels.

        Args:
            img (torch.Tensor): Face views (B, 3, H, W).
            ids_keep (torch.Tensor): Kept patch indices (B, K).
            ids_restore (torch.Tensor): Indices (B, L) that put the
                [kept, masked] token order back into patch order.

        Returns:
            tuple: Encoder tokens (B, 1 + K, D), class token first, and
            pixel predictions (B, L, patch_size**2 * 3).
        """
        if img.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(
                f'FaceMAENeck expects face views of {self.img_size}x'
                f'{self.img_size} but got {tuple(img.shape[-2:])}; make the '
                'face view pipeline resize to facemae_neck.img_size')
        latent = self.encoder(img, ids_keep)  # (B, 1 + K, D)
        pred = self.decoder(latent, ids_restore)  # (B, L, p * p * 3)
        return latent, pred
