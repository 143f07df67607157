# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""A downstream project inherits ``mmsimfle::`` configs and trains them.

The project lives in a temporary folder outside the repository and runs
the installed package (``python -m mmsimfle.tools.train``) with a
PYTHONPATH that does not contain the repository, as a user would.
"""
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

import mmsimfle

REPO = Path(__file__).resolve().parents[2]
BASE = 'mmsimfle::simfle/simfle_r50_8xb64_affectnet.py'
LOSS_TERMS = ('loss_sim', 'loss_rec', 'loss_kd', 'loss_group')
NUM_IMAGES = 8
USED_IMAGES = 4
BATCH = 2

# ResNet-18 and a one-layer FaceMAE on 32x32 views: two iterations take a
# few seconds on two CPU cores.
DOWNSTREAM_CONFIG = """\
_base_ = ['{base}']

view_size = 32
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=64, out_channels=32),
    head=dict(
        predictor=dict(in_channels=32, hid_channels=64, out_channels=32)),
    mask_generator=dict(in_channels=512, img_size=view_size, patch_size=8),
    facemae_neck=dict(
        img_size=view_size,
        patch_size=8,
        arch=dict(
            _delete_=True,
            embed_dims=64,
            num_layers=1,
            num_heads=2,
            feedforward_channels=128),
        decoder_embed_dim=32,
        decoder_depth=1,
        decoder_num_heads=2),
    rec_head=dict(patch_size=8),
    gfl_distill_neck=dict(in_channels=512, hid_channels=64, out_channels=32),
    ffl_distill_neck=dict(in_channels=64, hid_channels=64, out_channels=32))

global_view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=view_size,
        crop_ratio_range=(0.5, 1.0),
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='HueSafeColorJitter',
                brightness=0.8,
                contrast=0.8,
                saturation=0.8,
                hue=0.2)
        ],
        prob=0.8),
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=1.0),
]
face_view_pipeline = [
    dict(type='ResizeEdge', scale=view_size, edge='short'),
    dict(type='CenterCrop', crop_size=view_size),
]
train_dataloader = dict(
    batch_size={batch},
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root={data_root!r},
        indices={used_images},
        pipeline=[
            dict(type='LoadImageFromFile', color_type='color'),
            dict(
                type='MultiView',
                num_views=[2, 1],
                transforms=[global_view_pipeline, face_view_pipeline]),
            dict(type='PackInputs'),
        ]))
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
randomness = dict(seed=0)
"""


def write_affectnet(root: Path, count: int) -> None:
    """Write ``count`` faces and a training.csv in AffectNet's layout.

    One extra row coded No-Face (10) must be left out by the data set.
    """
    write_faces(root / 'Manually_Annotated_Images' / '1', count + 1)
    header = ('subDirectory_filePath,face_x,face_y,face_width,face_height,'
              'facial_landmarks,expression,valence,arousal')
    rows = [header]
    for index in range(count + 1):
        code = 10 if index == count else index % 8
        rows.append(f'1/face_{index:02d}.png,4,4,56,56,"1;2",{code},0.1,0.2')
    (root / 'training.csv').write_text('\n'.join(rows) + '\n')


def write_faces(folder: Path, count: int) -> None:
    """Write ``count`` 64x64 face-like PNG images: skin oval, eyes, mouth."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        background = int(rng.integers(60, 200))
        image = np.full((64, 64, 3), background, np.uint8)
        skin = tuple(int(v) for v in rng.integers(110, 230, size=3))
        cv2.ellipse(image, (32, 34), (20, 26), 0, 0, 360, skin, -1)
        for eye_x in (24, 40):
            cv2.circle(image, (eye_x, 28), 3, (30, 30, 30), -1)
        cv2.ellipse(image, (32, 46), (8, 3 + index % 3), 0, 0, 180,
                    (40, 40, 140), 2)
        noise = rng.integers(-12, 13, size=image.shape)
        image = np.clip(image.astype(np.int16) + noise, 0, 255)
        assert cv2.imwrite(str(folder / f'face_{index:02d}.png'),
                           image.astype(np.uint8))


def outside_repo_env() -> dict:
    """Environment of a user shell: no PYTHONPATH entry in the repo."""
    env = dict(os.environ)
    entries = [
        entry for entry in env.get('PYTHONPATH', '').split(os.pathsep)
        if entry and Path(entry).resolve() != REPO
    ]
    env['PYTHONPATH'] = os.pathsep.join(entries)
    # One thread per process: in one measurement on two busy cores, two
    # threads ran this small model about ten times slower.
    env['OMP_NUM_THREADS'] = '1'
    return env


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    """A downstream project folder with face images and a config."""
    folder = tmp_path_factory.mktemp('downstream_project')
    assert not folder.resolve().is_relative_to(REPO)
    write_affectnet(folder / 'data', NUM_IMAGES)
    config = folder / 'my_simfle.py'
    config.write_text(
        DOWNSTREAM_CONFIG.format(
            base=BASE,
            batch=BATCH,
            data_root=str(folder / 'data'),
            used_images=USED_IMAGES))
    return folder


@pytest.fixture(scope='module')
def train_run(project):
    """Train the downstream config with the installed tool, once."""
    work_dir = project / 'work_dir'
    result = subprocess.run(
        [sys.executable, '-m', 'mmsimfle.tools.train', 'my_simfle.py',
         '--work-dir', str(work_dir)],
        cwd=project,
        env=outside_repo_env(),
        capture_output=True,
        text=True,
        timeout=300)
    return result, work_dir


def test_subprocess_imports_installed_package(project):
    result = subprocess.run(
        [sys.executable, '-c',
         'import mmsimfle, os; print(os.path.dirname(mmsimfle.__file__))'],
        cwd=project,
        env=outside_repo_env(),
        capture_output=True,
        text=True,
        timeout=120)
    assert result.returncode == 0, result.stderr[-4000:]
    installed = Path(result.stdout.strip().splitlines()[-1])
    # The virtual environment may live inside the checkout; what matters
    # is that the package is not the checkout's own mmsimfle folder.
    assert installed.resolve() != REPO / 'mmsimfle', (
        f'mmsimfle imports from the checkout ({installed}); install it '
        'with "pip install /path/to/repo" (not -e) for this test')
    # What mmengine reads to resolve mmsimfle:: paths.
    assert (installed / '.mim' / 'model-index.yml').is_file()
    assert (installed / '.mim' / 'configs' / 'simfle' /
            'simfle_r50_8xb64_affectnet.py').is_file()
    assert (installed / '.mim' / 'configs' / '_base_' / 'models' /
            'simfle_r50.py').is_file()


def test_parsed_config_merges_base_and_overrides(project):
    cfg = Config.fromfile(str(project / 'my_simfle.py'))
    model = cfg.model
    assert model.type == 'SimFLE'
    assert model.backbone.depth == 18
    assert model.neck.in_channels == 512
    assert model.mask_generator.in_channels == 512
    assert model.gfl_distill_neck.in_channels == 512
    # _delete_ replaced the ViT-B arch instead of merging into 'b'.
    assert dict(model.facemae_neck.arch) == dict(
        embed_dims=64, num_layers=1, num_heads=2, feedforward_channels=128)
    # Inherited unchanged from the r50 recipe and its bases.
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(0.1)
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert model.target_momentum == pytest.approx(0.01)
    assert model.backbone.norm_cfg == dict(type='BN')
    assert cfg.auto_scale_lr.base_batch_size == 512
    assert cfg.train_dataloader.dataset.type == 'AffectNet'
    assert cfg.train_dataloader.dataset.with_label is False
    assert cfg.train_dataloader.dataset.data_root == str(project / 'data')
    # mmengine builds what comes from an mmsimfle:: base in that scope.
    assert model._scope_ == 'mmsimfle'


def test_mmsimfle_scope_finds_registered_modules():
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS

    from mmsimfle import registry
    assert registry.MODELS.scope == 'mmsimfle'
    assert registry.MODELS.parent is MMPRETRAIN_MODELS
    assert registry.MODELS.get('SimFLE') is MMPRETRAIN_MODELS.get('SimFLE')
    assert registry.MODELS.get('ResNet') is MMPRETRAIN_MODELS.get('ResNet')
    assert registry.TRANSFORMS.get('HueSafeColorJitter') is (
        MMPRETRAIN_TRANSFORMS.get('HueSafeColorJitter'))
    assert registry.FUNCTIONS.get('default_collate') is not None


def test_installed_tool_trains_downstream_config(train_run, project):
    result, work_dir = train_run
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f'mmsimfle.tools.train exited with {result.returncode}:\n'
        f'{output[-6000:]}')
    assert (f'read {NUM_IMAGES + 1} rows, left out 1 No-Face (10), kept '
            f'{NUM_IMAGES} in 8 classes') in output
    # Builds in the mmsimfle scope must not fall back to other registries.
    assert 'Failed to search registry with scope "mmsimfle"' not in output
    assert 'mmsimfle is not installed' not in output

    iterations = re.findall(r'Epoch\(train\)\s+\[1\]\[(\d+)/(\d+)\](.*)',
                            output)
    expected = USED_IMAGES // BATCH
    assert [(int(i), int(n)) for i, n, _ in iterations] == [
        (step, expected) for step in range(1, expected + 1)
    ]
    for _, _, line in iterations:
        assert 'lr: 1.0000e-01' in line
        for name in LOSS_TERMS:
            match = re.search(rf'\b{name}: (\S+)', line)
            assert match is not None, f'{name} missing from {line!r}'
            assert math.isfinite(float(match.group(1))), line


def test_checkpoint_has_resnet18_backbone(train_run):
    result, work_dir = train_run
    assert result.returncode == 0
    path = work_dir / 'epoch_1.pth'
    assert path.is_file()
    checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    state = checkpoint['state_dict']
    assert any(key.startswith('backbone.') for key in state)
    assert any(key.startswith('target_net.') for key in state)
    assert state['backbone.layer4.1.conv2.weight'].shape == (512, 512, 3, 3)
    assert 'backbone.layer4.2.conv1.weight' not in state
    assert checkpoint['meta']['iter'] == USED_IMAGES // BATCH
    # The dumped config keeps the merged values.
    dumped = Config.fromfile(str(work_dir / 'my_simfle.py'))
    assert dumped.model.backbone.depth == 18
    assert dumped.optim_wrapper.optimizer.lr == pytest.approx(0.1)


def test_missing_base_config_names_file(tmp_path):
    config = tmp_path / 'broken.py'
    config.write_text("_base_ = ['mmsimfle::simfle/does_not_exist.py']\n")
    assert mmsimfle.__version__
    with pytest.raises(FileNotFoundError) as error:
        Config.fromfile(str(config))
    message = str(error.value)
    assert 'does_not_exist.py' in message
    assert 'model-index.yml' not in message
