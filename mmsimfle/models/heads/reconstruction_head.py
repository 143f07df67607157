# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from mmpretrain.models.heads import MAEPretrainHead
from mmpretrain.registry import MODELS


@MODELS.register_module()
class FaceMAEReconstructionHead(MAEPretrainHead):
    """Pixel reconstruction head of FaceMAE.

    The target is the face view cut into patches, each normalised to zero
    mean and unit variance (``(x - mean) / sqrt(var + 1e-6)``, unbiased
    variance as in MAE); the loss is the squared error averaged over a
    patch's pixels and then over the masked patches only. mmpretrain's
    ``MAEPretrainHead`` with ``PixelReconstructionLoss('L2')`` computes
    exactly this, so this class only fixes SimFLE's defaults.

    Args:
        loss (dict): Reconstruction loss. Defaults to
            ``dict(type='PixelReconstructionLoss', criterion='L2')``.
        norm_pix (bool): Normalise each target patch. Defaults to True.
        patch_size (int): Side of a patch. Defaults to 16.
    """

    def __init__(self,
                 loss: dict = dict(
                     type='PixelReconstructionLoss', criterion='L2'),
                 norm_pix: bool = True,
                 patch_size: int = 16) -> None:
        super().__init__(loss=loss, norm_pix=norm_pix, patch_size=patch_size)
