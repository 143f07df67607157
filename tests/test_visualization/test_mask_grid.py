# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import copy

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.registry import MODELS

from conftest import CPU_CONFIG
from mmsimfle.visualization import (MASK_GREY, build_face_view_pipeline,
                                    compute_mask_panels, dataset_pipeline,
                                    denormalize, draw_group_ids,
                                    face_view_pipeline_cfg, find_images,
                                    load_face_views, make_group_maps_grid,
                                    make_mask_grid, normalization_stats,
                                    overlay_heat_map, preprocess_face_views,
                                    unnormalize_prediction)
from mmsimfle.visualization import grids
from mmsimfle.visualization.visualize_masks import main as visualize_main

from visualization_setup import FACE, GROUPS, PATCH, PIPELINE, model_cfg


def build_model(seed: int = 0):
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg())
    model.init_weights()
    return model.train()


def random_faces(count: int, seed: int = 1) -> torch.Tensor:
    """Return uint8 (count, 3, FACE, FACE) BGR images."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(
        0, 256, (count, 3, FACE, FACE), generator=generator,
        dtype=torch.uint8)


@pytest.fixture(scope='module')
def model():
    return build_model()


@pytest.fixture(scope='module')
def inputs(model):
    return preprocess_face_views(model, random_faces(3))  # (3, 3, 64, 64)


def crop(image: np.ndarray, box) -> np.ndarray:
    top, left, bottom, right = box
    return image[top:bottom, left:right]


def patch_pixels(panel: np.ndarray, patch: int, side: int) -> np.ndarray:
    """Return the pixels of patch ``patch`` of an enlarged square panel."""
    per_row = panel.shape[1] // side
    row, column = divmod(patch, per_row)
    return panel[row * side:(row + 1) * side, column * side:(column + 1) *
                 side]


def test_mask_grid_size_and_panels(model, inputs):
    grid = make_mask_grid(model, inputs, group='random', seed=0, scale=2)
    one_row = make_mask_grid(
        model, inputs[:1], group='random', seed=0, scale=2)

    panel = FACE * 2
    assert grid.image.dtype == np.uint8
    assert grid.image.ndim == 3
    assert grid.image.shape[2] == 3
    assert grid.image.shape[1] == 2 * grids.MARGIN + 5 * panel + 4 * grids.GAP
    row_height = grids.ROW_LABEL_HEIGHT + panel + grids.GAP
    assert grid.image.shape[0] - one_row.image.shape[0] == 2 * row_height
    assert len(grid.panel_boxes) == 3
    assert grid.mask.shape == (3, (FACE // PATCH)**2)
    assert grid.group_ids.shape == (3, )
    for row in grid.panel_boxes:
        assert list(row) == list(grids.PANEL_KEYS)
        for top, left, bottom, right in row.values():
            assert (bottom - top, right - left) == (panel, panel)
            assert top >= 0
            assert left >= 0
            assert bottom <= grid.image.shape[0]
            assert right <= grid.image.shape[1]
    lefts = [box[1] for box in grid.panel_boxes[0].values()]
    assert all(b - a == panel + grids.GAP for a, b in zip(lefts, lefts[1:]))
    tops = [row['face'][0] for row in grid.panel_boxes]
    assert all(b - a == row_height for a, b in zip(tops, tops[1:]))


def test_default_scale_enlarges_small_faces(model, inputs):
    grid = make_mask_grid(model, inputs[:1], group=0)

    assert grid.scale == 3  # 64 px -> 192 px, the first size >= 160
    top, left, bottom, right = grid.panel_boxes[0]['face']
    assert bottom - top == FACE * 3


def test_greyed_patches_are_masked_patches(model, inputs):
    grid = make_mask_grid(model, inputs, group=[0, 1, 2], scale=2)
    side = PATCH * 2
    num_keep = model.mask_generator.num_keep

    for index, boxes in enumerate(grid.panel_boxes):
        face = crop(grid.image, boxes['face'])
        kept = crop(grid.image, boxes['kept_patches'])
        recon = crop(grid.image, boxes['reconstruction'])
        pasted = crop(grid.image, boxes['pasted'])
        mask = grid.mask[index]
        assert int((mask == 0).sum()) == num_keep
        for patch, masked in enumerate(mask.tolist()):
            kept_patch = patch_pixels(kept, patch, side)
            face_patch = patch_pixels(face, patch, side)
            if masked:
                assert (kept_patch == MASK_GREY).all(), (index, patch)
                assert np.array_equal(
                    patch_pixels(pasted, patch, side),
                    patch_pixels(recon, patch, side)), (index, patch)
            else:
                assert np.array_equal(kept_patch, face_patch), (index, patch)
                assert np.array_equal(
                    patch_pixels(pasted, patch, side),
                    face_patch), (index, patch)


def test_mask_comes_from_group_map_scores(model, inputs):
    panels = compute_mask_panels(model, inputs, group=[1, 3, 0])
    generator = model.mask_generator

    maps = torch.from_numpy(panels.group_maps)[:, None]  # (3, 1, 64, 64)
    scores = F.avg_pool2d(maps, PATCH).flatten(1)  # (3, 16)
    _, expected_mask, _ = generator.select_patches(scores)
    assert torch.equal(panels.mask, expected_mask)
    assert panels.group_ids.tolist() == [1, 3, 0]


def test_group_map_panel_changes_with_group(model, inputs):
    first = make_mask_grid(model, inputs[:1], group=0, scale=1)
    second = make_mask_grid(model, inputs[:1], group=1, scale=1)
    boxes = first.panel_boxes[0]

    assert not np.array_equal(
        crop(first.image, boxes['group_map']),
        crop(second.image, boxes['group_map']))
    assert np.array_equal(
        crop(first.image, boxes['face']), crop(second.image, boxes['face']))


def test_group_map_panel_is_heat_overlay(model, inputs):
    grid = make_mask_grid(model, inputs[:1], group=2, scale=1)
    panels = grid.panels

    expected = overlay_heat_map(panels.faces[0], panels.group_maps[0])
    assert np.array_equal(
        crop(grid.image, grid.panel_boxes[0]['group_map']), expected)


def test_constant_map_keeps_random_patches(inputs):
    model = build_model()
    with torch.no_grad():
        model.mask_generator.bn.bias.fill_(-1e4)  # every activation is 0

    first = compute_mask_panels(model, inputs[:1], group=0, seed=1)
    again = compute_mask_panels(model, inputs[:1], group=0, seed=1)
    other = compute_mask_panels(model, inputs[:1], group=0, seed=2)
    num_keep = model.mask_generator.num_keep
    first_in_order = [0.] * num_keep + [1.] * (first.mask.shape[1] - num_keep)

    assert np.ptp(first.group_maps[0]) == 0
    assert first.mask[0].sum().item() == first.mask.shape[1] - num_keep
    assert first.mask[0].tolist() != first_in_order
    assert torch.equal(first.mask, again.mask)
    assert not torch.equal(first.mask, other.mask)


def test_seed_repeats_random_groups(model, inputs):
    rng_state = torch.get_rng_state()
    first = make_mask_grid(model, inputs, group='random', seed=7)
    second = make_mask_grid(model, inputs, group='random', seed=7)

    assert torch.equal(first.group_ids, second.group_ids)
    assert torch.equal(first.mask, second.mask)
    assert np.array_equal(first.image, second.image)
    assert ((first.group_ids >= 0) & (first.group_ids < GROUPS)).all()
    assert torch.equal(torch.get_rng_state(), rng_state)


def test_random_groups_cover_all_groups():
    group_ids = draw_group_ids(GROUPS, 400, 'random', seed=3)

    assert sorted(set(group_ids.tolist())) == list(range(GROUPS))


@pytest.mark.parametrize('group', [GROUPS, -1, [0, 1], 'all'])
def test_invalid_group_rejected(model, inputs, group):
    with pytest.raises(ValueError):
        make_mask_grid(model, inputs, group=group)


def test_wrong_face_size_rejected(model):
    with pytest.raises(ValueError, match=r'\(N, 3, 64, 64\)'):
        make_mask_grid(model, torch.zeros(1, 3, 32, 32))


def test_denormalize_inverts_preprocessor(model):
    images = random_faces(2, seed=5)  # (2, 3, 64, 64) BGR
    inputs = preprocess_face_views(model, images)
    mean, std = normalization_stats(model.data_preprocessor)

    pixels = denormalize(inputs, mean, std)  # (2, 64, 64, 3)
    expected = images.flip(1).permute(0, 2, 3, 1).numpy()  # BGR -> RGB
    error = np.abs(pixels.astype(int) - expected.astype(int))
    assert error.max() <= 1
    assert mean.tolist() == pytest.approx([147.7725, 115.311, 100.9035])


def test_face_panel_is_input_image(model):
    images = random_faces(2, seed=6)
    panels = compute_mask_panels(
        model, preprocess_face_views(model, images), group=0)

    expected = images.flip(1).permute(0, 2, 3, 1).numpy()
    error = np.abs(panels.faces.astype(int) - expected.astype(int))
    assert error.max() <= 1
    assert panels.mean == pytest.approx((147.7725, 115.311, 100.9035))


def test_unnormalize_inverts_norm_pix_target(model, inputs):
    rec_head = model.rec_head
    target = rec_head.construct_target(inputs)  # (3, 16, 768)

    restored = unnormalize_prediction(target, inputs, rec_head)
    assert torch.allclose(restored, inputs, atol=1e-4)


def test_reconstruction_panel_uses_patch_statistics(model, inputs):
    model.eval()
    with torch.no_grad():
        panels = compute_mask_panels(model, inputs[:1], group=0)
        feats = model.backbone(inputs[:1])[-1]
        semantic = model.mask_generator(feats, torch.tensor([0]))
        _, pred = model.facemae_neck(inputs[:1], semantic.ids_keep,
                                     semantic.ids_restore)
    model.train()
    target = model.rec_head.patchify(inputs[:1])  # (1, 16, 768)
    mean = target.mean(-1, keepdim=True)
    std = (target.var(-1, keepdim=True) + 1e-6).sqrt()
    image = model.rec_head.unpatchify(pred * std + mean)  # (1, 3, 64, 64)
    pixel_mean, pixel_std = normalization_stats(model.data_preprocessor)
    expected = denormalize(image, pixel_mean, pixel_std)

    assert np.abs(panels.reconstructions.astype(int) -
                  expected.astype(int)).max() <= 1


def test_mask_grid_leaves_model_state(model, inputs):
    model.train()
    model.target_net.eval()
    flags = {name: module.training for name, module in model.named_modules()}
    state = copy.deepcopy(model.state_dict())

    make_mask_grid(model, inputs, group='random', seed=0)

    assert flags == {
        name: module.training
        for name, module in model.named_modules()
    }
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    model.train()


def test_group_maps_grid_has_every_group(model, inputs):
    grid = make_group_maps_grid(model, inputs[0], name='face 0', scale=2)

    assert grid.image.dtype == np.uint8
    assert set(grid.tile_boxes) == {'face', *range(GROUPS)}
    assert grid.group_maps.maps.shape == (GROUPS, FACE, FACE)
    assert grid.group_maps.kept_ids.shape == (GROUPS,
                                              model.mask_generator.num_keep)
    face_tile = crop(grid.image, grid.tile_boxes['face'])
    assert np.array_equal(face_tile,
                          grid.group_maps.face.repeat(2, 0).repeat(2, 1))
    # The first kept patch of group 0 has a white frame at its top-left.
    tile = crop(grid.image, grid.tile_boxes[0])
    patch = int(grid.group_maps.kept_ids[0, 0])
    frame = patch_pixels(tile, patch, PATCH * 2)
    assert (frame[0] == 255).all()
    assert (frame[:, 0] == 255).all()


def test_group_maps_match_mask_panels(model, inputs):
    grid = make_group_maps_grid(model, inputs[1:2], scale=1)
    panels = compute_mask_panels(model, inputs[1:2], group=3)

    assert np.allclose(grid.group_maps.maps[3], panels.group_maps[0])
    kept = set(torch.nonzero(panels.mask[0] == 0).flatten().tolist())
    assert set(grid.group_maps.kept_ids[3].tolist()) == kept


def write_face_png(path, seed: int, size: int = 80) -> None:
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 256, (size, size, 3), np.uint8))


def test_find_images_scans_folders(tmp_path):
    (tmp_path / 'b').mkdir()
    write_face_png(tmp_path / 'b' / 'z.png', 0)
    write_face_png(tmp_path / 'a.jpg', 1)
    (tmp_path / 'notes.txt').write_text('not an image')

    found = find_images([str(tmp_path)])
    assert found == [str(tmp_path / 'a.jpg'), str(tmp_path / 'b' / 'z.png')]


def test_find_images_rejects_empty_folder(tmp_path):
    (tmp_path / 'notes.txt').write_text('not an image')

    with pytest.raises(FileNotFoundError, match='no image files'):
        find_images([str(tmp_path)])


def test_find_images_rejects_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.png'):
        find_images([str(tmp_path / 'missing.png')])


def test_face_view_pipeline_of_cpu_config(tmp_path):
    cfg = Config.fromfile(str(CPU_CONFIG))
    train_pipeline = dataset_pipeline(cfg.train_dataloader.dataset)
    transforms = face_view_pipeline_cfg(train_pipeline)
    types = [t['type'] for t in train_pipeline]
    position = types.index('MultiView')
    expected = types[:position] + [t['type'] for t in cfg.face_view_pipeline]
    assert [t['type'] for t in transforms] == expected
    assert expected[-2:] == ['ResizeEdge', 'CenterCrop']

    write_face_png(tmp_path / 'face.png', 2, size=120)
    pipeline = build_face_view_pipeline(
        dataset_pipeline(cfg.train_dataloader.dataset))
    images = load_face_views([str(tmp_path / 'face.png')], pipeline, 96)
    assert images.shape == (1, 3, 96, 96)
    assert images.dtype == torch.uint8


def test_load_face_views_names_unreadable_file(tmp_path):
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a png')
    pipeline = build_face_view_pipeline(PIPELINE)

    with pytest.raises(ValueError, match='bad.png'):
        load_face_views([str(bad)], pipeline, FACE)


def test_load_face_views_rejects_wrong_size(tmp_path):
    write_face_png(tmp_path / 'face.png', 3)
    pipeline = build_face_view_pipeline(PIPELINE)

    with pytest.raises(ValueError, match='expects 96x96'):
        load_face_views([str(tmp_path / 'face.png')], pipeline, 96)


@pytest.fixture
def tool_files(tmp_path, model):
    config = tmp_path / 'tiny_simfle.py'
    Config(
        dict(
            default_scope='mmpretrain',
            model=model_cfg(),
            train_dataloader=dict(dataset=dict(pipeline=PIPELINE)))).dump(
                str(config))
    checkpoint = tmp_path / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    faces = tmp_path / 'faces'
    faces.mkdir()
    for index in range(3):
        write_face_png(faces / f'face_{index}.png', index)
    return config, checkpoint, faces


def test_tool_writes_grid_per_batch(tool_files, tmp_path, capsys):
    config, checkpoint, faces = tool_files
    out_dir = tmp_path / 'out'

    written = visualize_main([
        str(config), str(checkpoint), str(faces), '--batch-size', '2',
        '--seed', '0', '--groups-grid', '--out-dir', str(out_dir)
    ])

    names = sorted(path.name for path in out_dir.iterdir())
    assert names == [
        'group_maps_000_face_0.png', 'group_maps_001_face_1.png',
        'group_maps_002_face_2.png', 'mask_grid_000.png', 'mask_grid_001.png'
    ]
    assert len(written) == 5
    first = cv2.imread(str(out_dir / 'mask_grid_000.png'))
    second = cv2.imread(str(out_dir / 'mask_grid_001.png'))
    assert first.shape[1] == second.shape[1]
    assert first.shape[0] > second.shape[0]  # two rows, then one
    assert 'face_0.png: group' in capsys.readouterr().out


def test_tool_seed_repeats_grid(tool_files, tmp_path):
    config, checkpoint, faces = tool_files
    images = []
    for run in range(2):
        out_dir = tmp_path / f'out{run}'
        visualize_main([
            str(config), str(checkpoint), str(faces), '--num-images', '2',
            '--seed', '4', '--out-dir', str(out_dir)
        ])
        images.append(cv2.imread(str(out_dir / 'mask_grid_000.png')))
    assert np.array_equal(images[0], images[1])


def test_tool_rejects_missing_checkpoint(tool_files, tmp_path):
    config, _, faces = tool_files

    with pytest.raises(FileNotFoundError, match='missing.pth'):
        visualize_main(
            [str(config),
             str(tmp_path / 'missing.pth'),
             str(faces)])


def test_tool_rejects_empty_folder(tool_files, tmp_path):
    config, checkpoint, _ = tool_files
    empty = tmp_path / 'empty'
    empty.mkdir()

    with pytest.raises(FileNotFoundError, match='no image files'):
        visualize_main([str(config), str(checkpoint), str(empty)])


def test_tool_rejects_group_out_of_range(tool_files, tmp_path):
    config, checkpoint, faces = tool_files

    with pytest.raises(ValueError, match='out of range'):
        visualize_main([
            str(config), str(checkpoint), str(faces), '--group',
            str(GROUPS), '--out-dir', str(tmp_path / 'out')
        ])


def test_tool_rejects_mismatched_checkpoint(tool_files, tmp_path, model):
    config, _, faces = tool_files
    state = dict(model.state_dict())
    state.pop('mask_generator.conv.weight')
    checkpoint = tmp_path / 'partial.pth'
    torch.save({'state_dict': state}, checkpoint)

    with pytest.raises(RuntimeError, match='does not match'):
        visualize_main([str(config), str(checkpoint), str(faces)])
