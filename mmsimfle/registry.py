# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Registry nodes of the ``mmsimfle`` scope.

mmsimfle registers its models, datasets, transforms and hooks in
MMPretrain's registries. A config that inherits
``_base_ = ['mmsimfle::...']`` is different: mmengine marks every dict
with a ``type`` that it takes from that base with ``_scope_='mmsimfle'``,
and then builds it from the registry node of scope ``mmsimfle``, which
must exist (mmengine also imports ``mmsimfle.registry`` to find it).

Each node here is a child of the MMPretrain node of the same name (or of
the MMEngine root where MMPretrain has none, as for ``FUNCTIONS``) and
contains no modules itself, so a name looked up in scope ``mmsimfle`` resolves
exactly as in scope ``mmpretrain``: first MMPretrain's modules, which
include mmsimfle's, then MMEngine's.
"""
from mmengine import registry as mmengine_registry
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

SCOPE = 'mmsimfle'

# Modules imported the first time a node is searched: mmsimfle itself and
# what mmpretrain.utils.register_all_modules imports, so that every class
# that MMPretrain's nodes would lazily import is there.
_LOCATIONS = [
    'mmsimfle',
    'mmpretrain.datasets',
    'mmpretrain.engine',
    'mmpretrain.evaluation',
    'mmpretrain.models',
    'mmpretrain.structures',
    'mmpretrain.visualization',
]


def _child_of(parent: Registry) -> Registry:
    return Registry(
        parent.name, parent=parent, scope=SCOPE, locations=_LOCATIONS)


RUNNERS = _child_of(mmpretrain_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child_of(mmpretrain_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child_of(mmpretrain_registry.LOOPS)
HOOKS = _child_of(mmpretrain_registry.HOOKS)
LOG_PROCESSORS = _child_of(mmpretrain_registry.LOG_PROCESSORS)
OPTIMIZERS = _child_of(mmpretrain_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child_of(mmpretrain_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child_of(
    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child_of(mmpretrain_registry.PARAM_SCHEDULERS)
DATASETS = _child_of(mmpretrain_registry.DATASETS)
DATA_SAMPLERS = _child_of(mmpretrain_registry.DATA_SAMPLERS)
TRANSFORMS = _child_of(mmpretrain_registry.TRANSFORMS)
MODELS = _child_of(mmpretrain_registry.MODELS)
MODEL_WRAPPERS = _child_of(mmpretrain_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child_of(mmpretrain_registry.WEIGHT_INITIALIZERS)
TASK_UTILS = _child_of(mmpretrain_registry.TASK_UTILS)
METRICS = _child_of(mmpretrain_registry.METRICS)
EVALUATORS = _child_of(mmpretrain_registry.EVALUATORS)
VISUALIZERS = _child_of(mmpretrain_registry.VISUALIZERS)
VISBACKENDS = _child_of(mmpretrain_registry.VISBACKENDS)
FUNCTIONS = _child_of(mmengine_registry.FUNCTIONS)

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'METRICS',
    'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS', 'FUNCTIONS'
]
