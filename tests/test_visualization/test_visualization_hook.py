# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import copy
import uuid
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.visualization import Visualizer
from mmpretrain.registry import HOOKS, MODELS

from mmsimfle.engine import SimFLEMaskVisualizationHook

from visualization_setup import FACE, GROUPS, PIPELINE, model_cfg


def write_faces(folder, count: int) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        path = folder / f'face_{index}.png'
        cv2.imwrite(str(path), rng.integers(0, 256, (80, 80, 3), np.uint8))
        paths.append(str(path))
    return paths


class FakeDataset:

    def __init__(self, paths, face_bbox=None):
        self.paths = paths
        self.face_bbox = face_bbox

    def __len__(self):
        return len(self.paths)

    def get_data_info(self, index):
        info = dict(img_path=self.paths[index])
        if self.face_bbox is not None:
            info['face_bbox'] = self.face_bbox
        return info


def fake_runner(tmp_path, paths):
    torch.manual_seed(0)
    model = MODELS.build(model_cfg())
    model.init_weights()
    model.train()
    visualizer = Visualizer(
        name=f'hook_test_{uuid.uuid4().hex}',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'vis'))
    cfg = Config(dict(train_dataloader=dict(dataset=dict(pipeline=PIPELINE))))
    return SimpleNamespace(
        model=model,
        iter=0,
        visualizer=visualizer,
        cfg=cfg,
        train_dataloader=SimpleNamespace(dataset=FakeDataset(paths)))


def written_images(tmp_path):
    folder = tmp_path / 'vis' / 'vis_data' / 'vis_image'
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir())


def run_iterations(hook, runner, count: int) -> None:
    for index in range(count):
        runner.iter = index
        hook.after_train_iter(runner, batch_idx=index)


def test_hook_is_registered():
    hook = HOOKS.build(
        dict(type='SimFLEMaskVisualizationHook', interval=5, num_images=2))

    assert isinstance(hook, SimFLEMaskVisualizationHook)
    assert hook.interval == 5


def test_hook_writes_at_interval_iterations(tmp_path):
    paths = write_faces(tmp_path / 'faces', 3)
    runner = fake_runner(tmp_path, paths)
    hook = SimFLEMaskVisualizationHook(interval=3, image_paths=paths[:2])

    hook.before_train(runner)
    run_iterations(hook, runner, 7)

    assert written_images(tmp_path) == [
        'simfle_masks_3.png', 'simfle_masks_6.png'
    ]
    folder = tmp_path / 'vis' / 'vis_data' / 'vis_image'
    image = cv2.imread(str(folder / 'simfle_masks_3.png'))
    assert image.shape[2] == 3


def test_hook_repeats_grid_with_seed(tmp_path):
    paths = write_faces(tmp_path / 'faces', 2)
    runner = fake_runner(tmp_path, paths)
    runner.model.eval()  # no training step between the two draws
    hook = SimFLEMaskVisualizationHook(interval=1, image_paths=paths, seed=3)

    hook.before_train(runner)
    run_iterations(hook, runner, 2)

    folder = tmp_path / 'vis' / 'vis_data' / 'vis_image'
    first = cv2.imread(str(folder / 'simfle_masks_1.png'))
    second = cv2.imread(str(folder / 'simfle_masks_2.png'))
    assert np.array_equal(first, second)


def test_hook_writes_groups_grids(tmp_path):
    paths = write_faces(tmp_path / 'faces', 2)
    runner = fake_runner(tmp_path, paths)
    hook = SimFLEMaskVisualizationHook(
        interval=2, image_paths=paths, groups_grid=True, name='masks')

    hook.before_train(runner)
    run_iterations(hook, runner, 2)

    assert written_images(tmp_path) == [
        'masks_2.png', 'masks_groups_0_2.png', 'masks_groups_1_2.png'
    ]


def test_hook_defaults_to_first_training_images(tmp_path):
    paths = write_faces(tmp_path / 'faces', 5)
    runner = fake_runner(tmp_path, paths)
    hook = SimFLEMaskVisualizationHook(interval=1, num_images=2)

    hook.before_train(runner)

    assert hook.paths == paths[:2]
    assert hook.images.shape == (2, 3, FACE, FACE)
    assert hook.images.dtype == torch.uint8


def test_hook_crops_training_images_to_face_box(tmp_path):
    image = np.zeros((80, 80, 3), np.uint8)
    image[:, 40:] = 255  # the face box below covers the white half only
    path = tmp_path / 'half.png'
    cv2.imwrite(str(path), image)
    runner = fake_runner(tmp_path, [str(path)])
    runner.train_dataloader.dataset.face_bbox = (40, 0, 40, 80)
    pipeline = [PIPELINE[0], dict(type='CropFaceBox'), *PIPELINE[1:]]
    hook = SimFLEMaskVisualizationHook(num_images=1, pipeline=pipeline)

    hook.before_train(runner)

    assert hook.paths == [str(path)]
    assert (hook.images == 255).all()


def test_hook_leaves_batchnorm_and_flags(tmp_path):
    paths = write_faces(tmp_path / 'faces', 2)
    runner = fake_runner(tmp_path, paths)
    model = runner.model
    # A module in eval mode inside a training model must stay in eval mode.
    model.target_net.eval()
    hook = SimFLEMaskVisualizationHook(interval=1, image_paths=paths)
    hook.before_train(runner)

    flags = {name: module.training for name, module in model.named_modules()}
    state = copy.deepcopy(model.state_dict())
    rng_state = torch.get_rng_state()
    numpy_state = np.random.get_state()
    run_iterations(hook, runner, 1)

    assert written_images(tmp_path) == ['simfle_masks_1.png']
    assert flags == {
        name: module.training
        for name, module in model.named_modules()
    }
    assert model.training
    assert not model.target_net.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])


def test_train_mode_pass_would_change_batchnorm(tmp_path):
    # Control for the test above: a plain train-mode forward of the same
    # face views does update the running statistics it checks.
    paths = write_faces(tmp_path / 'faces', 2)
    runner = fake_runner(tmp_path, paths)
    hook = SimFLEMaskVisualizationHook(interval=1, image_paths=paths)
    hook.before_train(runner)
    model = runner.model
    before = model.backbone.bn1.running_mean.clone()

    with torch.no_grad():
        model.backbone(model.data_preprocessor(
            dict(inputs=hook.images, data_samples=None))['inputs'])

    assert not torch.equal(model.backbone.bn1.running_mean, before)


@pytest.mark.parametrize('kwargs', [
    dict(interval=0),
    dict(num_images=0),
    dict(image_paths=[]),
    dict(group='first'),
    dict(group=True),
    dict(pipeline=[dict(type='LoadFaceImage')]),
])
def test_hook_rejects_invalid_settings(kwargs):
    with pytest.raises(ValueError):
        SimFLEMaskVisualizationHook(**kwargs)


def test_hook_rejects_group_out_of_range(tmp_path):
    paths = write_faces(tmp_path / 'faces', 1)
    runner = fake_runner(tmp_path, paths)
    hook = SimFLEMaskVisualizationHook(image_paths=paths, group=GROUPS)

    with pytest.raises(ValueError, match='out of range'):
        hook.before_train(runner)


def test_hook_rejects_missing_image(tmp_path):
    paths = write_faces(tmp_path / 'faces', 1)
    runner = fake_runner(tmp_path, paths)
    hook = SimFLEMaskVisualizationHook(
        image_paths=[str(tmp_path / 'missing.png')])

    with pytest.raises(ValueError, match='missing.png'):
        hook.before_train(runner)


def test_hook_in_runner_writes_at_interval(tmp_path):
    write_faces(tmp_path / 'data', 4)
    cfg = Config(
        dict(
            default_scope='mmpretrain',
            model=model_cfg(),
            work_dir=str(tmp_path / 'work'),
            experiment_name=f'hook_runner_{uuid.uuid4().hex}',
            train_dataloader=dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type='default_collate'),
                dataset=dict(
                    type='FaceImageFolder',
                    data_root=str(tmp_path / 'data'),
                    pipeline=PIPELINE)),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=5),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            default_hooks=dict(checkpoint=None, logger=None),
            custom_hooks=[
                dict(
                    type='SimFLEMaskVisualizationHook',
                    interval=2,
                    num_images=2)
            ],
            vis_backends=[dict(type='LocalVisBackend')],
            visualizer=dict(
                type='UniversalVisualizer',
                vis_backends=[dict(type='LocalVisBackend')]),
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            log_level='WARNING'))
    runner = Runner.from_cfg(cfg)

    runner.train()

    folders = list((tmp_path / 'work').glob('*/vis_data/vis_image'))
    assert len(folders) == 1
    names = sorted(path.name for path in folders[0].iterdir())
    assert names == ['simfle_masks_2.png', 'simfle_masks_4.png']
    assert runner.model.training
