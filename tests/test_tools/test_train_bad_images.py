# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import json
import math
import os
import subprocess
import sys

import cv2
import numpy as np
from PIL import Image

from conftest import CPU_CONFIG, REPO_ROOT


def make_folder(root):
    """Write 12 usable faces of several formats and 4 unusable files."""
    rng = np.random.default_rng(0)
    folder = root / 'FER2013Train'
    folder.mkdir(parents=True)
    for index in range(6):
        face = rng.integers(0, 256, (48, 48), dtype=np.uint8)
        cv2.imwrite(str(folder / f'gray_{index}.png'), face)
    for index in range(3):
        rgba = rng.integers(0, 256, (40, 40, 4), dtype=np.uint8)
        Image.fromarray(rgba, 'RGBA').save(folder / f'rgba_{index}.png')
    for index in range(3):
        deep = rng.integers(0, 65536, (48, 48), dtype=np.uint16)
        cv2.imwrite(str(folder / f'deep_{index}.png'), deep)
    (folder / 'empty.jpg').write_bytes(b'')
    (folder / 'text.jpg').write_text('this is not an image')
    cv2.imwrite(str(folder / 'one_pixel.png'),
                np.zeros((1, 1), dtype=np.uint8))
    good = cv2.imencode('.jpg', rng.integers(
        0, 256, (48, 48, 3), dtype=np.uint8))[1].tobytes()
    (folder / 'truncated.jpg').write_bytes(good[:len(good) // 2])


def test_training_survives_unreadable_images(tmp_path):
    make_folder(tmp_path / 'data')
    work_dir = tmp_path / 'work'
    command = [
        sys.executable, 'tools/train.py', str(CPU_CONFIG),
        '--work-dir', str(work_dir),
        '--data-root', str(tmp_path / 'data'),
        '--cfg-options',
        'train_dataloader.dataset.indices=None',
        'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
    ]  # yapf: disable
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]

    assert 'using 16 of 16 images' in log
    skips = [line for line in log.splitlines()
             if 'skipped unreadable image' in line]
    assert len(skips) >= 4
    for name in ('empty.jpg', 'text.jpg', 'one_pixel.png', 'truncated.jpg'):
        assert any(name in line for line in skips), name

    (scalars, ) = work_dir.glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    losses = [r for r in records if 'loss' in r]
    assert [r['iter'] for r in losses] == [1, 2, 3, 4]
    assert all(math.isfinite(r['loss']) for r in losses)
    assert (work_dir / 'epoch_1.pth').is_file()
