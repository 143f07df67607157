# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import os.path as osp
from typing import Optional, Sequence, Union

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS

from mmsimfle.visualization import (build_face_view_pipeline,
                                    dataset_pipeline, face_view_pipeline_cfg,
                                    load_face_views, make_group_maps_grid,
                                    make_mask_grid, preprocess_face_views)
from mmsimfle.visualization.mask_panels import check_simfle, unwrap_model


@HOOKS.register_module()
class SimFLEMaskVisualizationHook(Hook):
    """Draw SimFLE's masks and reconstructions of fixed faces during training.

    Every ``interval`` training iterations the hook draws the mask grid of
    :func:`mmsimfle.visualization.make_mask_grid` (face view, group map,
    kept patches, reconstruction, reconstruction with the visible patches)
    for the same images and sends it to ``runner.visualizer.add_image``
    under ``name`` with the 1-based iteration as step. ``LocalVisBackend``
    writes ``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<iter>.png``;
    ``TensorboardVisBackend`` adds it to the event file.

    The pass runs under ``torch.no_grad`` with every module in eval mode,
    so BatchNorm running statistics are not updated. Each module's
    train/eval flag is restored afterwards. The target network is not
    used, and random groups come from a private generator, so the global
    RNG state of training is unchanged. Only the main process draws.

    Args:
        interval (int): Draw after every ``interval`` training iterations.
            Defaults to 1000.
        image_paths (Sequence[str], optional): Image files to draw. Defaults
            to the first ``num_images`` images of the training set, chosen
            once before training.
        num_images (int): Images taken from the training set when
            ``image_paths`` is None. Defaults to 4.
        group (str | int): ``'random'`` (one uniform draw per image, as in
            training) or one group index for all images.
            Defaults to ``'random'``.
        seed (int, optional): Seed of the random groups. With a seed every
            grid uses the same groups, so grids of different iterations can
            be compared. Defaults to 0.
        groups_grid (bool): Also draw the maps of all channel groups of
            each image, as ``<name>_groups_<index>``. Defaults to False.
        name (str): Image name for the visualizer. Defaults to
            ``'simfle_masks'``.
        pipeline (Sequence[dict], optional): Training pipeline whose face
            view transforms load the images. Defaults to the pipeline of
            ``train_dataloader.dataset`` in the runner's config.
        scale (int, optional): Pixel repetition factor of the panels.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 1000,
                 image_paths: Optional[Sequence[str]] = None,
                 num_images: int = 4,
                 group: Union[str, int] = 'random',
                 seed: Optional[int] = 0,
                 groups_grid: bool = False,
                 name: str = 'simfle_masks',
                 pipeline: Optional[Sequence[dict]] = None,
                 scale: Optional[int] = None) -> None:
        if interval < 1:
            raise ValueError(f'interval must be 1 or more, got {interval}')
        if image_paths is not None and len(image_paths) == 0:
            raise ValueError(
                'image_paths is empty; list image files or leave it None to '
                'draw the first num_images training images')
        if image_paths is None and num_images < 1:
            raise ValueError(
                f'num_images must be 1 or more, got {num_images}')
        if not (group == 'random' or
                (isinstance(group, int) and not isinstance(group, bool))):
            raise ValueError(
                f"group must be 'random' or a group index, got {group!r}")
        if pipeline is not None:
            # Fail at build time, not after the first interval.
            face_view_pipeline_cfg(pipeline)
        self.interval = interval
        self.image_paths = (
            list(image_paths) if image_paths is not None else None)
        self.num_images = num_images
        self.group = group
        self.seed = seed
        self.groups_grid = groups_grid
        self.name = name
        self.pipeline = list(pipeline) if pipeline is not None else None
        self.scale = scale
        self.paths = []
        self.images = None  # uint8 (N, 3, S, S) after before_train

    def before_train(self, runner) -> None:
        """Choose the images and load their face views once."""
        model = unwrap_model(runner.model)
        check_simfle(model)
        num_groups = model.mask_generator.num_groups
        if self.group != 'random' and not 0 <= self.group < num_groups:
            raise ValueError(
                f'SimFLEMaskVisualizationHook: group={self.group} is out of '
                f'range; the mask generator has {num_groups} groups, so use '
                f'0 to {num_groups - 1}')
        if self.image_paths is not None:
            samples = list(self.image_paths)
        else:
            samples = self._first_training_samples(runner)

        pipeline_cfg = self.pipeline
        if pipeline_cfg is None:
            dataset_cfg = runner.cfg.train_dataloader.dataset
            pipeline_cfg = dataset_pipeline(dataset_cfg)
        pipeline = build_face_view_pipeline(pipeline_cfg)
        self.images = load_face_views(samples, pipeline,
                                      model.mask_generator.img_size)
        self.paths = [
            sample if isinstance(sample, str) else sample['img_path']
            for sample in samples
        ]
        print_log(
            f'SimFLEMaskVisualizationHook: drawing {len(samples)} images '
            f'every {self.interval} iterations as {self.name!r}',
            logger='current')

    def _first_training_samples(self, runner) -> list:
        """Return the data infos of the first training images.

        The whole data info is kept, so a face box that ``CropFaceBox``
        reads (AffectNet) is applied as in training.
        """
        dataset = runner.train_dataloader.dataset
        count = min(self.num_images, len(dataset))
        samples = []
        for index in range(count):
            info = dataset.get_data_info(index)
            if 'img_path' not in info:
                raise ValueError(
                    'SimFLEMaskVisualizationHook: the training set gives no '
                    'img_path; set image_paths in the hook config')
            samples.append(info)
        if not samples:
            raise ValueError(
                'SimFLEMaskVisualizationHook: the training set is empty; set '
                'image_paths in the hook config')
        return samples

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Draw the grids after every ``interval`` iterations."""
        if not self.every_n_train_iters(runner, self.interval):
            return
        if not is_main_process():
            return
        self.draw(runner, step=runner.iter + 1)

    def draw(self, runner, step: int) -> None:
        """Draw the grids of the fixed images and send them to the visualizer.
        """
        if self.images is None:
            raise RuntimeError(
                'SimFLEMaskVisualizationHook.draw ran before before_train')
        model = unwrap_model(runner.model)
        inputs = preprocess_face_views(model, self.images)  # (N, 3, S, S)
        names = [
            f'{index}: {osp.basename(path)}'
            for index, path in enumerate(self.paths)
        ]
        grid = make_mask_grid(
            model,
            inputs,
            group=self.group,
            seed=self.seed,
            names=names,
            scale=self.scale)
        runner.visualizer.add_image(self.name, grid.image, step=step)
        if self.groups_grid:
            for index, name in enumerate(names):
                group_grid = make_group_maps_grid(
                    model, inputs[index], name=name, scale=self.scale)
                runner.visualizer.add_image(
                    f'{self.name}_groups_{index}', group_grid.image,
                    step=step)
