# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Save the random number generator states in checkpoints and restore them.

mmengine 0.10.7 saves only the seed in a checkpoint. On ``resume`` the
Runner seeds the generators again (or keeps the state that building the
model left), and ``EpochBasedTrainLoop`` restarts the interrupted epoch
from its first batch. The data augmentations of that epoch and the channel
groups that SimFLE's mask generator draws with ``torch.randint`` then
differ from an uninterrupted run. This hook makes a resumed run repeat
the uninterrupted one.
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

CHECKPOINT_KEY = 'random_state'


def capture_random_state() -> dict:
    """Return the states of the Python, NumPy and torch generators.

    The NumPy state is stored as a tensor and plain numbers, so the dict
    loads with ``torch.load(weights_only=True)``.
    """
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(
            name=name,
            keys=torch.from_numpy(keys.astype(np.int64)),
            position=int(position),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached_gaussian)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    """Set the generators to a state returned by :func:`capture_random_state`.

    CUDA states are restored only when this process has as many visible
    devices as the process that saved them.
    """
    version, internal_state, gauss_next = state['python']
    random.setstate((version, tuple(internal_state), gauss_next))
    saved_numpy = state['numpy']
    np.random.set_state(
        (saved_numpy['name'], saved_numpy['keys'].cpu().numpy().astype(
            np.uint32), saved_numpy['position'], saved_numpy['has_gauss'],
         saved_numpy['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    cuda_states = state.get('cuda')
    if (cuda_states is not None and torch.cuda.is_available()
            and len(cuda_states) == torch.cuda.device_count()):
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Store the random generator states in checkpoints and restore them.

    ``before_save_checkpoint`` adds the Python, NumPy and torch (CPU and
    CUDA) generator states under ``checkpoint['random_state']``. On resume
    ``after_load_checkpoint`` keeps them aside, because the Runner may seed
    the generators again after that hook, and the first
    ``before_train_epoch`` restores them just before the data loader of the
    resumed epoch starts.

    Validation inside training leaves the training generators unchanged:
    the state is saved in ``before_val`` and restored in ``after_val``, so
    the training stream is the same whether or not a validation ran after
    the last checkpoint.

    Exact repeats need ``EpochBasedTrainLoop`` with checkpoints at epoch
    ends, a fixed ``randomness.seed``, and data loader workers that are not
    persistent (or ``num_workers=0``). Workers keep their own generators,
    which no checkpoint contains. mmengine 0.10.7 seeds each new worker from
    the seed and its worker id alone, so non-persistent workers start every
    epoch from the same state, resumed or not. Persistent workers carry
    their state from epoch to epoch, so after a resume only the
    main-process draws (for example the mask generator's groups) repeat.
    ``IterBasedTrainLoop`` replays the skipped batches through the data
    pipeline on resume, so its data draws do not repeat either.

    In a distributed run every rank sends its state to all ranks at the end
    of each training epoch, and rank 0 writes all of them. A checkpoint
    written at another time contains only rank 0's state, and the other
    ranks keep their seeded state on resume with a warning.

    NOTE: the 2-process gloo test (tests/test_tools/test_dist_train.py)
    writes both ranks' states, but no test resumes a distributed run.
    """

    # Runs after_train_epoch before CheckpointHook ('VERY_LOW') and
    # before_train_epoch after DistSamplerSeedHook ('NORMAL').
    priority = 'LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._gathered: Optional[tuple] = None
        self._state_before_val: Optional[dict] = None

    def after_train_epoch(self, runner) -> None:
        """Collect every rank's state in a distributed run."""
        if get_world_size() > 1:
            self._gathered = (runner.iter,
                              all_gather_object(capture_random_state()))

    def before_val(self, runner) -> None:
        """Save the state that training continues from after validation."""
        self._state_before_val = capture_random_state()

    def after_val(self, runner) -> None:
        """Restore the state saved in :meth:`before_val`."""
        if self._state_before_val is not None:
            restore_random_state(self._state_before_val)
            self._state_before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add the generator states of every rank to the checkpoint."""
        local_state = self._state_before_val or capture_random_state()
        world_size = get_world_size()
        if world_size == 1:
            states = [local_state]
        elif self._gathered is not None and self._gathered[0] == runner.iter:
            states = self._gathered[1]
        else:
            runner.logger.warning(
                'RandomStateHook: this checkpoint is written outside an '
                'epoch end, so it stores only the random state of rank 0. '
                'The other ranks will not restore theirs on resume.')
            states = [local_state]
        checkpoint[CHECKPOINT_KEY] = dict(
            world_size=world_size, states=states)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep this rank's saved state until training starts."""
        meta = checkpoint.get('meta', {})
        saved = checkpoint.get(CHECKPOINT_KEY)
        self._pending = dict(
            iter=meta.get('iter'),
            state=None,
            reason='the checkpoint has no random state (it was written '
            'without RandomStateHook)')
        if saved is None:
            return
        rank, world_size = get_rank(), get_world_size()
        if saved['world_size'] != world_size:
            self._pending['reason'] = (
                f'the checkpoint was written by {saved["world_size"]} '
                f'processes and this run has {world_size}')
        elif rank >= len(saved['states']):
            self._pending['reason'] = (
                f'the checkpoint holds no random state for rank {rank}')
        else:
            self._pending['state'] = saved['states'][rank]

    def before_train_epoch(self, runner) -> None:
        """Restore the saved state in the first epoch after a resume."""
        pending, self._pending = self._pending, None
        # A checkpoint loaded with ``load_from`` (not resumed) starts at
        # iteration 0, so its generator state is not restored.
        if pending is None or pending['iter'] != runner.iter:
            return
        if pending['state'] is None:
            runner.logger.warning(
                f'RandomStateHook: random state not restored because '
                f'{pending["reason"]}. The resumed run draws other random '
                'numbers than an uninterrupted run would.')
            return
        restore_random_state(pending['state'])
        runner.logger.info(
            f'RandomStateHook: restored the random state saved at '
            f'iteration {runner.iter}.')
        loader = runner.train_dataloader
        if (getattr(loader, 'num_workers', 0) > 0
                and getattr(loader, 'persistent_workers', False)):
            runner.logger.warning(
                'RandomStateHook: the data loader workers are persistent, '
                'so their random state (data augmentation) after this resume '
                'differs from an uninterrupted run. Set '
                'train_dataloader.persistent_workers=False for an exact '
                'repeat.')
