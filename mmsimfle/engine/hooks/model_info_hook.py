# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def count_parameters(module) -> tuple:
    """Return (total, trainable) parameter counts of a module."""
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return total, trainable


@HOOKS.register_module()
class SimFLEInfoHook(Hook):
    """Log SimFLE's parameter counts and masking setup before training.

    One INFO line, e.g. ``SimFLE: 198.0 M parameters (164.7 M trainable);
    FaceMAE keeps 12 of 49 patches of 16x16 at 112x112``.
    """

    def before_train(self, runner) -> None:
        """Write the summary line to the runner's log."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        total, trainable = count_parameters(model)
        message = (f'{type(model).__name__}: {total / 1e6:.1f} M parameters '
                   f'({trainable / 1e6:.1f} M trainable)')
        generator = getattr(model, 'mask_generator', None)
        if generator is not None:
            message += (
                f'; FaceMAE keeps {generator.num_keep} of '
                f'{generator.num_patches} patches of {generator.patch_size}x'
                f'{generator.patch_size} at {generator.img_size}x'
                f'{generator.img_size}, {generator.num_groups} channel groups '
                f'of {generator.in_channels // generator.num_groups}')
        runner.logger.info(message)
