# Copyright (c) OpenMMLab. All rights reserved.

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmstt.apis import (build_inference_pipeline, default_device,
                        inference_recognizer, init_recognizer,
                        read_clip_frames)
from mmstt.datasets import DFER_CLASSES, CorruptClipError
from .helpers import save_checkpoint, tiny_config


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
    with pytest.raises(CorruptClipError, match='bad.mp4'):
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
    return tiny_config()


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


def test_init_recognizer_loads_strictly_and_names_the_file(tmp_path):
    model = init_recognizer(_tiny_model_cfg())
    good = save_checkpoint(model, str(tmp_path / 'good.pth'), DFER_CLASSES)
    loaded = init_recognizer(_tiny_model_cfg(), good)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
    # another architecture (embed_dims 48 instead of 32) is refused
    other = _tiny_model_cfg()
    other.model.neck.embed_dims = 48
    other.model.cls_head.in_channels = 48
    other.model.cls_head.loss_cls.feat_dim = 48
    wrong = save_checkpoint(
        init_recognizer(other), str(tmp_path / 'wrong.pth'), DFER_CLASSES)
    with pytest.raises(Exception, match='wrong.pth') as err:
        init_recognizer(_tiny_model_cfg(), wrong)
    assert 'shape' in str(err.value) or 'mis' in str(err.value)
    # a glob of one file works; a truncated file is named
    assert init_recognizer(_tiny_model_cfg(), str(tmp_path / 'go*.pth'))
    broken = tmp_path / 'broken.pth'
    broken.write_bytes(open(good, 'rb').read()[:200])
    with pytest.raises(Exception, match='broken.pth'):
        init_recognizer(_tiny_model_cfg(), str(broken))


def test_class_names_come_from_the_checkpoint(tmp_path):
    from mmstt.apis import class_names_of
    from mmstt.datasets.dfer_classes import MAFW_CLASSES
    cfg = tiny_config(num_classes=len(MAFW_CLASSES))
    model = init_recognizer(cfg)
    assert class_names_of(model) == [f'class_{i}' for i in range(11)]
    path = save_checkpoint(model, str(tmp_path / 'mafw.pth'), MAFW_CLASSES)
    loaded = init_recognizer(cfg, path)
    assert class_names_of(loaded) == list(MAFW_CLASSES)
    result = inference_recognizer(loaded, _frames(8))
    assert result.pred_score.shape == (11, )
    assert class_names_of(init_recognizer(
        _tiny_model_cfg())) == list(DFER_CLASSES)


class _NumpyEngine:
    """An engine like ONNXRecognizer: ``predict_scores`` and class names."""

    def __init__(self, model):
        self.model = model
        self.class_names = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
        self.calls = []

    def predict_scores(self, clips: np.ndarray) -> np.ndarray:
        self.calls.append(clips.shape)
        inputs = torch.from_numpy(clips)
        with torch.no_grad():
            data = self.model.data_preprocessor(
                dict(inputs=[x[None] for x in inputs], data_samples=None),
                False)
            feats = self.model.extract_feat(data['inputs'])[0]
            return self.model.cls_head(feats).numpy()


def test_inference_accepts_an_engine_with_predict_scores():
    from mmstt.apis import (class_names_of, config_pipeline,
                            predict_probabilities)
    cfg = _tiny_model_cfg()
    model = init_recognizer(cfg)
    engine = _NumpyEngine(model)
    pipeline = config_pipeline(cfg)
    frames = _frames(12, size=48)
    expected = inference_recognizer(model, frames, pipeline).pred_score
    got = inference_recognizer(engine, frames, pipeline)
    assert engine.calls == [(1, 3, 8, 32, 32)]
    torch.testing.assert_close(got.pred_score, expected, atol=1e-5, rtol=0)
    assert int(got.pred_label) == int(expected.argmax())
    assert class_names_of(engine) == engine.class_names
    both = predict_probabilities(engine, [frames, frames[:5]], pipeline)
    assert both.shape == (2, 7)
    np.testing.assert_allclose(both.sum(axis=1), 1.0, atol=1e-6)


def _mjpeg(path: str, n: int, size: int = 32) -> None:
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 10,
                             (size, size))
    for i in range(n):
        writer.write(np.full((size, size, 3), 8 * i, np.uint8))
    writer.release()


def test_truncated_video_is_read_as_far_as_it_decodes_with_a_warning(tmp_path):
    path = str(tmp_path / 'cut.avi')
    _mjpeg(path, 30)
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.warns(
            UserWarning,
            match=r'cut.avi: read \d+ frames, but '
            r'its header says 30'):
        frames = read_clip_frames(path)
    assert 0 < len(frames) < 30
    # each frame that decodes is the right one (gray level 8 k)
    assert [round(float(f.mean()) / 8)
            for f in frames] == list(range(len(frames)))


def test_mmaction_inference_recognizer_with_what_it_needs(tmp_path):
    """MMAction2's own API: a pipeline that reads the input, or a dict."""
    from mmaction.apis import inference_recognizer as mmaction_inference
    from mmengine.dataset import Compose
    cfg = _tiny_model_cfg()
    model = init_recognizer(cfg)
    frames = _frames(12, size=48)
    folder = tmp_path / 'clip'
    folder.mkdir()
    for i, img in enumerate(frames):
        cv2.imwrite(
            str(folder / f'{i + 1}.png'), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    ours = inference_recognizer(model, str(folder)).pred_score
    with pytest.raises(KeyError, match='total_frames'):
        mmaction_inference(model, str(folder))
    theirs = mmaction_inference(
        model,
        dict(
            frame_dir=str(folder),
            total_frames=12,
            start_index=0,
            label=-1,
            modality='RGB')).pred_score
    torch.testing.assert_close(theirs, ours)
    video = str(tmp_path / 'clip.avi')
    _mjpeg(video, 12, size=48)
    video_pipeline = [dict(type='DFERVideoInit')] + [
        dict(type='DFERVideoDecode')
        if step['type'] == 'FrameFolderDecode' else step
        for step in cfg.test_pipeline
    ]
    theirs = mmaction_inference(model, video,
                                Compose(video_pipeline)).pred_score
    torch.testing.assert_close(theirs,
                               inference_recognizer(model, video).pred_score)
