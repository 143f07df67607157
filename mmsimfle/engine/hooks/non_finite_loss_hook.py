# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Stop training, or skip the step, when a loss term is NaN or infinite.

In mmengine 0.10.7 ``model.train_step`` computes the loss dict, sums it in
``parse_losses`` and calls ``optim_wrapper.update_params`` on the sum, all
in one call, so no Runner hook runs between the loss and the optimizer
step. ``after_train_iter`` receives the losses only after a NaN has
already reached the weights. :class:`NonFiniteLossHook` therefore adds a
PyTorch forward hook to the model, which inspects the loss dict as the
forward pass returns it, before ``parse_losses`` and the backward pass.
The default action (raise) works with every optimizer wrapper, including
the ``AutocastOptimWrapper`` that ``tools/train.py --amp`` selects on a
CPU. Skipping works with every wrapper except ``AmpOptimWrapper``.
"""
import math
from typing import Dict, List, Optional

import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper
from mmpretrain.registry import HOOKS

ACTIONS = ('raise', 'skip')


def reduce_loss_terms(losses: dict) -> Dict[str, torch.Tensor]:
    """Reduce each loss term to a scalar as mmengine's ``parse_losses`` does.

    A tensor becomes its mean and a list of tensors the sum of their means.
    Entries of other types are left out.
    """
    reduced = {}
    for name, value in losses.items():
        if isinstance(value, torch.Tensor):
            reduced[name] = value.detach().float().mean()
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(item, torch.Tensor) for item in value):
            reduced[name] = sum(item.detach().float().mean()
                                for item in value)
    return reduced


def non_finite_terms(losses: dict) -> Dict[str, float]:
    """Return ``{name: value}`` of the loss terms that are NaN or infinite."""
    reduced = reduce_loss_terms(losses)
    if not reduced:
        return {}
    # One device synchronisation when every term is finite.
    if bool(torch.isfinite(torch.stack(list(reduced.values()))).all()):
        return {}
    values = {name: float(value) for name, value in reduced.items()}
    return {
        name: value
        for name, value in values.items() if not math.isfinite(value)
    }


def non_finite_tensors(tensors: Dict[str, torch.Tensor],
                       prefix: str = '') -> List[str]:
    """Return the names of the floating-point tensors with a NaN or inf."""
    names = []
    for name, value in tensors.items():
        if isinstance(value, dict):
            names += non_finite_tensors(value, f'{prefix}{name}.')
        elif (isinstance(value, torch.Tensor) and value.is_floating_point()
              and not bool(torch.isfinite(value).all())):
            names.append(f'{prefix}{name}')
    return names


def describe_names(names: List[str], limit: int = 5) -> str:
    text = ', '.join(names[:limit])
    if len(names) > limit:
        text += f' and {len(names) - limit} more'
    return text


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Check every loss term before the backward pass, and every checkpoint.

    Args:
        action (str): What to do when a loss term is NaN or infinite.
            ``'raise'`` (default) raises ``FloatingPointError`` naming the
            terms, their values and the iteration, before the backward pass,
            so the parameters in memory are those of the previous step.
            ``'skip'`` replaces the loss terms of that step by zero-valued
            leaf tensors: the backward pass reaches no parameter, every
            gradient stays ``None`` and the optimizer step leaves the
            parameters and the optimizer state unchanged. The model's
            buffers (BatchNorm running statistics and counters) are
            restored from a copy taken before the forward pass. The count
            of skipped steps is logged as ``nonfinite_skips``, and each skip
            logs a warning.
        check_checkpoints (bool): Raise ``FloatingPointError`` instead of
            writing a checkpoint whose weights or optimizer state contain a
            NaN or inf. Defaults to True.

    Notes on ``action='skip'``:

    - SimFLE updates its momentum target network inside the forward pass,
      from the current online weights, so a skipped step still moves the
      target one momentum step. The hook skips only while the online
      parameters are finite, so the target stays finite.
    - Learning rate schedules and the iteration count advance as usual.
    - The step is a no-op because PyTorch optimizers (and mmpretrain's
      LARS and LAMB) skip parameters whose gradient is ``None``, which
      ``zero_grad`` leaves by default (``set_to_none=True``). With
      ``set_to_none=False`` the gradients are zeros, and SGD still applies
      weight decay and momentum on the skipped step.
    - ``AmpOptimWrapper`` is rejected: its ``GradScaler`` raises
      "No inf checks were recorded" on a step without gradients. Its dynamic
      loss scale already skips steps whose gradients are inf or NaN.
    - If the parameters themselves are non-finite, skipping cannot recover,
      and the hook raises as in ``'raise'`` mode.

    In a distributed run the ranks agree before the backward pass with one
    ``all_reduce`` of a flag per iteration, so all ranks raise or skip
    together.

    NOTE: the 2-process gloo test (tests/test_tools/test_dist_train.py)
    runs the agreement only without a NaN. Raising or skipping after a NaN
    on one rank, and ``action='skip'`` under DistributedDataParallel, have
    not been run in a multi-process test.
    """

    # Runs after_train_iter before RuntimeInfoHook ('VERY_HIGH'), which
    # copies the outputs into the message hub, and after_train_epoch
    # before CheckpointHook removes old checkpoints and saves the new one.
    priority = 'HIGHEST'

    def __init__(self,
                 action: str = 'raise',
                 check_checkpoints: bool = True) -> None:
        if action not in ACTIONS:
            raise ValueError(
                f"NonFiniteLossHook action={action!r} is invalid. Use one "
                f"of {', '.join(repr(a) for a in ACTIONS)}.")
        self.action = action
        self.check_checkpoints = check_checkpoints
        self.num_skipped = 0
        self._runner = None
        self._handles: list = []
        self._batch_idx: Optional[int] = None
        self._skipped_terms: Optional[list] = None
        self._saved_buffers: Optional[Dict[str, torch.Tensor]] = None

    # Set-up ---------------------------------------------------------------

    def before_train(self, runner) -> None:
        """Add the forward hooks to the model."""
        if self.action == 'skip' and isinstance(runner.optim_wrapper,
                                                AmpOptimWrapper):
            raise ValueError(
                "NonFiniteLossHook(action='skip') does not work with "
                'AmpOptimWrapper, whose GradScaler raises on a step without '
                "gradients. Use action='raise': AmpOptimWrapper with "
                "loss_scale='dynamic' already skips steps whose gradients "
                'are inf or NaN.')
        self._runner = runner
        model = runner.model
        self._handles = [model.register_forward_hook(self._check_losses)]
        if self.action == 'skip':
            self._handles.append(
                model.register_forward_pre_hook(self._save_buffers))

    def after_train(self, runner) -> None:
        """Remove the forward hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # Per iteration --------------------------------------------------------

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._batch_idx = batch_idx
        self._skipped_terms = None

    def _save_buffers(self, module: nn.Module, args) -> None:
        if self._batch_idx is None:
            return
        self._saved_buffers = {
            name: buffer.detach().clone()
            for name, buffer in module.named_buffers()
        }

    def _check_losses(self, module: nn.Module, args, output):
        """Forward hook: raise on, or replace, a loss dict with NaN or inf."""
        if self._batch_idx is None or not isinstance(output, dict):
            return None
        bad = non_finite_terms(output)
        if not self._any_rank_bad(bool(bad), output):
            return None

        where = self._where()
        terms = ', '.join(f'{name}={value}' for name, value in bad.items())
        if not terms:
            terms = 'a loss term on another rank'
        bad_params = self._non_finite_parameters(self._runner)
        if self.action == 'raise' or bad_params:
            if bad_params:
                state = (f'{len(bad_params)} parameter tensors are already '
                         f'non-finite, so skipping steps cannot recover: '
                         f'{describe_names(bad_params)}.')
            else:
                state = 'All parameters are finite.'
            raise FloatingPointError(
                f'Non-finite loss at {where}: {terms}. Training stopped '
                'before the backward pass, so this loss did not update the '
                f'weights. {state} Check the input data and the learning '
                "rate, or use NonFiniteLossHook(action='skip') to skip "
                'steps with a non-finite loss.')

        self.num_skipped += 1
        self._restore_buffers(module)
        self._skipped_terms = list(output.keys())
        self._runner.logger.warning(
            f'NonFiniteLossHook: skipped the optimizer step of {where} '
            f'because of {terms}. Steps skipped so far: {self.num_skipped}.')
        device = self._loss_device(output)
        # Zero-valued leaves: the backward pass of their sum reaches no
        # parameter, so every gradient stays None.
        return {
            name: torch.zeros((), device=device, requires_grad=True)
            for name in output
        }

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Keep a skipped step's zero losses out of the log."""
        self._batch_idx = None
        self._saved_buffers = None
        if outputs is None:
            return
        if self._skipped_terms is not None:
            for name in self._skipped_terms + ['loss']:
                outputs.pop(name, None)
        if self.action == 'skip':
            outputs['nonfinite_skips'] = self.num_skipped

    # Checkpoints ----------------------------------------------------------

    def after_train_epoch(self, runner) -> None:
        """Stop before CheckpointHook deletes an old checkpoint for a bad one.

        CheckpointHook removes the oldest kept checkpoint before it saves
        the new one, so checking only in ``before_save_checkpoint`` could
        leave one good checkpoint fewer.
        """
        if not self.check_checkpoints:
            return
        bad = self._non_finite_parameters(runner)
        if bad:
            raise FloatingPointError(
                f'Non-finite weights at the end of epoch {runner.epoch + 1} '
                f'(iteration {runner.iter}): {describe_names(bad)}. No '
                'checkpoint was written for this epoch.')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Raise instead of writing a checkpoint with NaN or inf values."""
        if not self.check_checkpoints:
            return
        bad = non_finite_tensors(checkpoint.get('state_dict', {}))
        optimizer_state = checkpoint.get('optimizer', {}).get('state', {})
        bad += non_finite_tensors(
            {
                str(key): value
                for key, value in optimizer_state.items()
            },
            prefix='optimizer.state.')
        if bad:
            raise FloatingPointError(
                f'Checkpoint at iteration {runner.iter} not written because '
                f'these tensors contain NaN or inf: {describe_names(bad)}.')

    # Helpers --------------------------------------------------------------

    def _where(self) -> str:
        runner = self._runner
        num_batches = len(runner.train_dataloader)
        return (f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}, '
                f'batch {self._batch_idx + 1} of {num_batches})')

    @staticmethod
    def _non_finite_parameters(runner) -> List[str]:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        return non_finite_tensors(dict(model.named_parameters()))

    def _any_rank_bad(self, local_bad: bool, output: dict) -> bool:
        if get_world_size() == 1:
            return local_bad
        flag = torch.tensor([int(local_bad)], device=self._loss_device(output))
        torch_dist.all_reduce(flag, op=torch_dist.ReduceOp.MAX)
        return bool(flag.item())

    @staticmethod
    def _loss_device(output: dict) -> torch.device:
        for value in reduce_loss_terms(output).values():
            return value.device
        return torch.device('cpu')

    def _restore_buffers(self, module: nn.Module) -> None:
        if self._saved_buffers is None:
            return
        with torch.no_grad():
            for name, buffer in module.named_buffers():
                saved = self._saved_buffers.get(name)
                if saved is not None:
                    buffer.copy_(saved)
