# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import copy
import logging
import os
import warnings
from pathlib import Path

import pytest

# mmcv-lite has no compiled ops; its import warning is expected here.
warnings.filterwarnings('ignore', message='Fail to import')

import mmsimfle  # noqa: E402,F401  (registers the modules)
from mmpretrain.utils import register_all_modules  # noqa: E402

# Configs use default_scope='mmpretrain'; nested transforms such as
# MultiView are built from the default scope's registry.
register_all_modules(init_default_scope=True)

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / 'configs'
R50_CONFIG = CONFIG_DIR / 'simfle' / 'simfle_r50_8xb64_affectnet.py'
CPU_CONFIG = CONFIG_DIR / 'simfle' / 'simfle_r18_1xb32-coslr-5e_ferplus-96px.py'
FERPLUS_ROOT = Path(
    os.environ.get('MMSIMFLE_FERPLUS_ROOT',
                   REPO_ROOT.parent / 'shared' / 'data' / 'ferplus'))

requires_ferplus = pytest.mark.skipif(
    not (FERPLUS_ROOT / 'FER2013Train').is_dir(),
    reason=f'FERPlus images not found at {FERPLUS_ROOT}; set '
    'MMSIMFLE_FERPLUS_ROOT to a FERPlus folder (FER2013Train/...) to run '
    'the real-data tests')


def tiny_simfle_cfg(depth: int = 18,
                    face_size: int = 32,
                    patch_size: int = 16,
                    num_groups: int = 4,
                    **overrides) -> dict:
    """Return a SimFLE model config small enough for unit tests.

    ResNet-``depth`` backbone, a 2-layer FaceMAE of width 32 on
    ``face_size`` face views, MLPs of width 64.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(str(CONFIG_DIR / '_base_' / 'models' /
                              'simfle_r50.py')).model.to_dict()
    channels = 2048 if depth >= 50 else 512
    cfg['backbone']['depth'] = depth
    cfg['neck'].update(in_channels=channels, hid_channels=64, out_channels=16)
    cfg['head']['predictor'].update(
        in_channels=16, hid_channels=64, out_channels=16)
    cfg['mask_generator'].update(
        in_channels=channels,
        num_groups=num_groups,
        img_size=face_size,
        patch_size=patch_size)
    cfg['facemae_neck'].update(
        img_size=face_size,
        patch_size=patch_size,
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2,
            feedforward_channels=64),
        decoder_embed_dim=32,
        decoder_depth=1,
        decoder_num_heads=2)
    cfg['rec_head'].update(patch_size=patch_size)
    cfg['gfl_distill_neck'].update(
        in_channels=channels, hid_channels=64, out_channels=16)
    cfg['ffl_distill_neck'].update(
        in_channels=32, hid_channels=64, out_channels=16)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return copy.deepcopy(cfg)


@pytest.fixture
def tiny_cfg():
    return tiny_simfle_cfg


@pytest.fixture
def log_messages():
    """Collect the messages of the current mmengine logger."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    messages = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)
