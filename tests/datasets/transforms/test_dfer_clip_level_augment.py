# Copyright (c) OpenMMLab. All rights reserved.
"""MMAction2's RandomResizedCrop and Flip act on the whole clip at once."""
import random

import numpy as np
from mmaction.datasets.transforms import Flip, RandomResizedCrop

import mmstt  # noqa: F401


def _clip(num_frames: int = 16, h: int = 40, w: int = 50) -> list:
    """Frames whose pixels encode (frame, row, column)."""
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    frames = []
    for t in range(num_frames):
        img = np.zeros((h, w, 3), np.uint8)
        img[..., 0] = t
        img[..., 1] = rows
        img[..., 2] = cols
        frames.append(img)
    return frames


def test_random_resized_crop_is_shared_by_all_frames() -> None:
    np.random.seed(0)
    random.seed(0)
    crop = RandomResizedCrop(
        area_range=(0.08, 1.0), aspect_ratio_range=(3 / 4, 4 / 3))
    for _ in range(20):
        results = crop(dict(imgs=_clip(), img_shape=(40, 50), modality='RGB'))
        left, top, right, bottom = results['crop_bbox']
        for t, img in enumerate(results['imgs']):
            assert img.shape == (bottom - top, right - left, 3)
            assert (img[..., 0] == t).all()
            np.testing.assert_array_equal(img[:, 0, 1], np.arange(top, bottom))
            np.testing.assert_array_equal(img[0, :, 2], np.arange(left, right))


def test_flip_is_clip_level() -> None:
    np.random.seed(1)
    flip = Flip(flip_ratio=0.5)
    outcomes = set()
    for _ in range(20):
        results = flip(dict(imgs=_clip(), img_shape=(40, 50), modality='RGB'))
        first_cols = [int(img[0, 0, 2]) for img in results['imgs']]
        # every frame flipped (first column 49) or none (first column 0)
        assert len(set(first_cols)) == 1
        assert first_cols[0] == (49 if results['flip'] else 0)
        outcomes.add(results['flip'])
    assert outcomes == {True, False}
