# Copyright (c) OpenMMLab. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmstt.apis import (build_inference_pipeline, default_device,
                        inference_recognizer, init_recognizer,
                        read_clip_frames)
from mmstt.datasets import DFER_CLASSES

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SAMPLE_CONFIG = osp.join(ROOT, 'configs', 'stt_sample.py')


def _frames(n: int, size: int = 40) -> list:
    """``n`` RGB frames whose red channel encodes the frame index."""
    frames = []
    for i in range(n):
        img = np.zeros((size, size, 3), np.uint8)
        img[..., 0] = 10 * i
        frames.append(img)
    return frames


def test_read_clip_frames_folder_video_image(tmp_path):
    folder = tmp_path / 'clip'
    folder.mkdir()
    # Numeric order, not lexicographic: 2 before 10.
    for i in (1, 2, 10):
        img = np.full((8, 8, 3), i * 20, np.uint8)
        cv2.imwrite(str(folder / f'{i}.png'), img)
    frames = read_clip_frames(str(folder))
    assert [int(f[0, 0, 0]) for f in frames] == [20, 40, 200]
    assert frames[0].shape == (8, 8, 3) and frames[0].dtype == np.uint8

    video = str(tmp_path / 'v.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 10,
                             (16, 16))
    for _ in range(5):
        # BGR blue; must come back as RGB blue.
        writer.write(
            np.dstack([np.full((16, 16), 255, np.uint8)] +
                      [np.zeros((16, 16), np.uint8)] * 2))
    writer.release()
    frames = read_clip_frames(video)
    assert len(frames) == 5
    assert frames[0][..., 2].mean() > 200 and frames[0][..., 0].mean() < 50

    assert len(read_clip_frames(str(folder / '2.png'))) == 1


def test_read_clip_frames_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing'):
        read_clip_frames(str(tmp_path / 'missing'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='empty'):
        read_clip_frames(str(tmp_path / 'empty'))
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'not a video')
    with pytest.raises(ValueError, match='bad.mp4'):
        read_clip_frames(str(bad))


def test_build_inference_pipeline_replaces_media_steps():
    from mmaction.utils import register_all_modules
    register_all_modules()
    pipeline_cfg = [
        dict(type='DecordInit'),
        dict(
            type='DFERSampleFrames',
            clip_len=4,
            frames_per_segment=1,
            test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(16, 16), keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')
    ]
    pipeline = build_inference_pipeline(pipeline_cfg)
    frames = _frames(8)
    out = pipeline(
        dict(
            all_frames=frames,
            total_frames=8,
            start_index=0,
            label=-1,
            modality='RGB'))
    inputs = out['inputs']
    assert inputs.shape == (1, 3, 4, 16, 16)
    # Segment centres of 8 frames in 4 segments: 1, 3, 5, 7 (or 0, 2 ...).
    reds = inputs[0, 0, :, 0, 0].tolist()
    assert reds == sorted(reds) and len(set(reds)) == 4
    with pytest.raises(ValueError, match='decoding step'):
        build_inference_pipeline([dict(type='Resize', scale=(16, 16))])


def test_default_device():
    expected = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    assert default_device() == expected


def _tiny_model_cfg() -> Config:
    cfg = Config.fromfile(SAMPLE_CONFIG)
    cfg.model.backbone.base_channels = 16
    cfg.model.neck.update(
        in_channels=64,
        embed_dims=32,
        depth=1,
        num_heads=2,
        num_frames=8,
        grid_size=(2, 2))
    cfg.model.cls_head.in_channels = 32
    cfg.model.cls_head.loss_cls.feat_dim = 32
    for step in cfg.test_pipeline:
        if step['type'] == 'DFERSampleFrames':
            step['clip_len'] = 8
        elif step['type'] == 'Resize':
            step['scale'] = (32, 32)
    return cfg


def test_inference_recognizer_on_frames_folder_and_video(tmp_path):
    model = init_recognizer(_tiny_model_cfg())
    assert next(model.parameters()).device.type == 'cpu'
    assert not model.training
    frames = _frames(12, size=48)
    result = inference_recognizer(model, frames)
    score = result.pred_score
    assert score.shape == (len(DFER_CLASSES), )
    assert float(score.sum()) == pytest.approx(1.0, abs=1e-5)
    assert int(result.pred_label) == int(score.argmax())

    folder = tmp_path / 'clip'
    folder.mkdir()
    for i, img in enumerate(frames):
        cv2.imwrite(
            str(folder / f'{i:05d}.png'), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    from_folder = inference_recognizer(model, str(folder)).pred_score
    torch.testing.assert_close(from_folder, score)

    calls = []

    def cropper(clip):
        calls.append(len(clip))
        return [f[8:40, 8:40] for f in clip]

    cropped = inference_recognizer(model, frames, face_cropper=cropper)
    assert calls == [12]
    assert cropped.pred_score.shape == (len(DFER_CLASSES), )
    with pytest.raises(ValueError, match='no frames'):
        inference_recognizer(model, [])
