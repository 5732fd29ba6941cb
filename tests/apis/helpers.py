# Copyright (c) OpenMMLab. All rights reserved.
"""Test helpers: tiny recognizers, checkpoints, whole-frame videos."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SAMPLE_CONFIG = osp.join(ROOT, 'configs', 'stt_sample.py')


def tiny_config(num_classes: int = 7,
                clip_len: int = 8,
                size: int = 32) -> Config:
    """configs/stt_sample.py shrunk to a CPU-cheap model.

    Args:
        num_classes (int): Classifier width. Defaults to 7.
        clip_len (int): Frames sampled per clip. Defaults to 8.
        size (int): Input side. Defaults to 32.

    Returns:
        Config: The config.
    """
    cfg = Config.fromfile(SAMPLE_CONFIG)
    cfg.model.backbone.base_channels = 16
    cfg.model.neck.update(
        in_channels=64,
        embed_dims=32,
        depth=1,
        num_heads=2,
        num_frames=clip_len,
        grid_size=(2, 2))
    cfg.model.cls_head.in_channels = 32
    cfg.model.cls_head.num_classes = num_classes
    cfg.model.cls_head.loss_cls.feat_dim = 32
    if 'num_classes' in cfg.model.cls_head.loss_cls:
        cfg.model.cls_head.loss_cls.num_classes = num_classes
    for step in cfg.test_pipeline:
        if step['type'] == 'DFERSampleFrames':
            step['clip_len'] = clip_len
        elif step['type'] == 'Resize':
            step['scale'] = (size, size)
    return cfg


def save_checkpoint(model: torch.nn.Module, path: str,
                    classes: Optional[Sequence[str]]) -> str:
    """Save a Runner-style checkpoint (``state_dict`` and ``meta``)."""
    meta = {} if classes is None else dict(
        dataset_meta=dict(classes=tuple(classes)))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), path)
    return path


def face_video_frames(
    labels: Sequence[int],
    frames_per_segment: int,
    seed: int = 0,
    size: Tuple[int, int] = (160, 120),
    blank: Sequence[int] = ()
) -> List[np.ndarray]:
    """A whole-frame video: segments of drawn faces, one scene each.

    Each segment is a generated face clip (``mmstt.testing.render_clip``)
    pasted into a plain scene of its own colour; the segments listed in
    ``blank`` show the scene without a face.

    Args:
        labels (Sequence[int]): Expression label of each segment.
        frames_per_segment (int): Frames per segment.
        seed (int): Random seed. Defaults to 0.
        size (tuple): ``(width, height)``. Defaults to ``(160, 120)``.
        blank (Sequence[int]): Segments without a face. Defaults to ``()``.

    Returns:
        list[np.ndarray]: RGB frames.
    """
    from mmstt.testing import render_clip
    width, height = size
    rng = np.random.default_rng(seed)
    frames = []
    face = int(min(width, height) * 0.6)
    for k, label in enumerate(labels):
        colour = rng.integers(20, 235, 3)
        crops = render_clip(
            int(label), frames_per_segment, seed=seed * 100 + k, size=face)
        x0 = int(rng.integers(0, width - face))
        y0 = int(rng.integers(0, height - face))
        for crop in crops:
            img = np.empty((height, width, 3), np.uint8)
            img[:] = colour
            if k not in blank:
                img[y0:y0 + face, x0:x0 + face] = crop
            frames.append(img)
    return frames
