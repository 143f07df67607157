# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""check_face_view_size: the face view must match model.facemae_neck."""
import pytest
from mmengine.config import Config

from conftest import CONFIG_DIR, CPU_CONFIG, R50_CONFIG
from mmsimfle.tools.launch import check_face_view_size
from mmsimfle.tools.train import main as train_main

FACE_VIEW = 'train_dataloader.dataset.pipeline[2].transforms[1]'


def cpu_config(resize=None, crop=None, img_size=None):
    """Return the CPU config with its face view and FaceMAE size changed.

    ``crop=0`` removes the CenterCrop.
    """
    cfg = Config.fromfile(str(CPU_CONFIG))
    multiview = cfg.train_dataloader.dataset.pipeline[2]
    assert multiview.type == 'MultiView'
    face_pipeline = multiview.transforms[1]
    assert [t.type for t in face_pipeline] == ['ResizeEdge', 'CenterCrop']
    if resize is not None:
        face_pipeline[0].scale = resize
    if crop == 0:
        del face_pipeline[1]
    elif crop is not None:
        face_pipeline[1].crop_size = crop
    if img_size is not None:
        cfg.model.facemae_neck.img_size = img_size
        cfg.model.mask_generator.img_size = img_size
    return cfg


@pytest.mark.parametrize(
    'config',
    sorted((CONFIG_DIR / 'simfle').glob('**/*.py')),
    ids=lambda path: path.name)
def test_shipped_configs_pass(config):
    check_face_view_size(Config.fromfile(str(config)))


def test_matching_sizes_pass():
    check_face_view_size(cpu_config(resize=128, crop=128, img_size=128))
    # A larger short side is cropped down to the FaceMAE size.
    check_face_view_size(cpu_config(resize=120, crop=96))


def test_larger_crop_rejected():
    with pytest.raises(ValueError) as error:
        check_face_view_size(cpu_config(resize=128, crop=128))
    message = str(error.value)
    assert 'larger than the FaceMAE input' in message
    assert f'{FACE_VIEW}[1].crop_size=128' in message
    assert 'model.facemae_neck.img_size=96' in message


def test_smaller_crop_rejected():
    with pytest.raises(ValueError) as error:
        check_face_view_size(cpu_config(crop=64))
    message = str(error.value)
    assert 'smaller than the FaceMAE input' in message
    assert f'{FACE_VIEW}[1].crop_size=64' in message
    assert 'model.facemae_neck.img_size=96' in message


def test_smaller_resize_rejected():
    with pytest.raises(ValueError) as error:
        check_face_view_size(cpu_config(resize=64))
    message = str(error.value)
    assert 'smaller than the FaceMAE input' in message
    assert f'{FACE_VIEW}[0].scale=64' in message
    assert 'model.facemae_neck.img_size=96' in message


def test_larger_model_rejected():
    with pytest.raises(ValueError) as error:
        check_face_view_size(cpu_config(img_size=112))
    message = str(error.value)
    assert 'smaller than the FaceMAE input' in message
    assert f'{FACE_VIEW}[0].scale=96' in message
    assert 'model.facemae_neck.img_size=112' in message


def test_missing_crop_rejected():
    with pytest.raises(ValueError) as error:
        check_face_view_size(cpu_config(crop=0))
    message = str(error.value)
    assert 'can be larger than the FaceMAE input' in message
    assert f'{FACE_VIEW}[0].scale=96' in message
    assert "dict(type='CenterCrop', crop_size=96)" in message


def test_r50_config_mismatch_rejected():
    cfg = Config.fromfile(str(R50_CONFIG))
    cfg.model.facemae_neck.img_size = 224
    with pytest.raises(ValueError, match='img_size=224'):
        check_face_view_size(cfg)


def test_train_tool_checks_before_runner(tmp_path):
    work_dir = tmp_path / 'work'
    with pytest.raises(ValueError, match=r'crop_size=128'):
        train_main([
            str(CPU_CONFIG), '--work-dir', str(work_dir), '--cfg-options',
            'train_dataloader.dataset.pipeline.2.transforms.1.1.crop_size=128'
        ])
    # The Runner was not built, so it created no work dir.
    assert not work_dir.exists()
