# Copyright (c) OpenMMLab. All rights reserved.
"""DFERVideoInit/DFERVideoDecode: the DFEW video pipelines decode exactly
the frames of the frame-folder twin, and bad videos follow on_bad_clip."""
import copy
import os.path as osp
import random

import av
import cv2
import numpy as np
import pytest
import torch
from mmaction.utils import register_all_modules
from mmengine.config import Config
from mmengine.dataset import Compose

import mmstt  # noqa: F401
from mmstt.datasets import (BaseDFERDataset, CorruptClipError, VideoReader,
                            write_video)
from mmstt.datasets.transforms import DFERVideoDecode, DFERVideoInit

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
NUM_FRAMES = 60
SIZE = 64
#: Largest |mean gray - 3k| per codec at the encoders' default quality.
GRAY_TOL = dict(mp4v=4.5, xvid=4.5, mpeg4_bf=1.5, mjpeg=1.5, h264=1.5)


def index_frame(k: int) -> np.ndarray:
    """Frame ``k``: gray level ``3k``, its index as 8 black/white blocks."""
    frame = np.full((SIZE, SIZE, 3), 3 * k, np.uint8)
    for bit in range(8):
        frame[:16, bit * 8:(bit + 1) * 8] = 255 if (k >> bit) & 1 else 0
    return frame


def frame_index(frame: np.ndarray) -> int:
    """Index coded in the blocks of a decoded :func:`index_frame`."""
    bits = [frame[4:12, b * 8 + 2:b * 8 + 6].mean() > 128 for b in range(8)]
    return sum(int(v) << b for b, v in enumerate(bits))


def write_clip(folder, codec: str, num_frames: int = NUM_FRAMES) -> str:
    """Write an index clip encoded with ``codec``; skip if unavailable."""
    frames = [index_frame(k) for k in range(num_frames)]
    if codec == 'h264':
        return write_video(str(folder / 'h264.mp4'), frames, 25)
    if codec == 'mpeg4_bf':  # B-frames in AVI, as DivX/XVID movies
        path = str(folder / 'bf.avi')
        with av.open(path, 'w') as container:
            stream = container.add_stream('mpeg4', rate=25)
            stream.width = stream.height = SIZE
            stream.pix_fmt = 'yuv420p'
            stream.bit_rate = 2_000_000
            stream.options = {'bf': '2', 'g': '30'}
            for frame in frames:
                image = av.VideoFrame.from_ndarray(frame, format='rgb24')
                for packet in stream.encode(image):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        return path
    fourcc, name = dict(
        mp4v=('mp4v', 'mp4v.mp4'),
        xvid=('XVID', 'xvid.avi'),
        mjpeg=('MJPG', 'mjpeg.avi'))[codec]
    path = str(folder / name)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), 25,
                             (SIZE, SIZE))
    if not writer.isOpened():
        pytest.skip(f'OpenCV has no {fourcc} encoder')
    for frame in frames:
        writer.write(frame[..., ::-1].copy())
    writer.release()
    return path


def write_twin(folder, num_frames: int = NUM_FRAMES) -> str:
    """The frame-folder twin: the same frames as lossless PNG files."""
    folder.mkdir()
    for k in range(num_frames):
        cv2.imwrite(
            str(folder / f'{k + 1:05d}.png'),
            index_frame(k)[..., ::-1])
    return str(folder)


@pytest.fixture(scope='module')
def dfew_cfg() -> Config:
    register_all_modules()
    return Config.fromfile(osp.join(REPO, 'configs/_base_/datasets/dfew.py'))


def _decode_steps(pipeline: list, decode: str) -> Compose:
    """The transforms of ``pipeline`` up to and including ``decode``."""
    types = [t['type'] for t in pipeline]
    return Compose(copy.deepcopy(pipeline[:types.index(decode) + 1]))


@pytest.mark.parametrize('codec', sorted(GRAY_TOL))
@pytest.mark.parametrize('mode', ['train', 'test'])
def test_video_pipeline_matches_frame_folder_twin(tmp_path, dfew_cfg, codec,
                                                  mode):
    video = write_clip(tmp_path, codec)
    twin = write_twin(tmp_path / 'frames')
    video_pipe = dfew_cfg[f'dfew_video_{mode}_pipeline']
    frame_pipe = dfew_cfg['train_pipeline' if mode ==
                          'train' else 'test_pipeline']
    assert [t['type'] for t in video_pipe
            ][:3] == ['DFERVideoInit', 'DFERSampleFrames', 'DFERVideoDecode']
    video_steps = _decode_steps(video_pipe, 'DFERVideoDecode')
    frame_steps = _decode_steps(frame_pipe, 'FrameFolderDecode')
    for seed in range(3 if mode == 'train' else 1):
        np.random.seed(seed)
        out_v = video_steps(dict(filename=video))
        np.random.seed(seed)
        out_f = frame_steps(dict(frame_dir=twin, total_frames=NUM_FRAMES))
        assert out_v['total_frames'] == NUM_FRAMES
        np.testing.assert_array_equal(out_v['frame_inds'], out_f['frame_inds'])
        assert len(out_v['imgs']) == 16
        for k, img_v, img_f in zip(out_v['frame_inds'], out_v['imgs'],
                                   out_f['imgs']):
            assert frame_index(img_v) == frame_index(img_f) == k
            assert abs(float(img_v[24:].mean()) - 3 * k) < GRAY_TOL[codec]
            assert float(img_f[24:].mean()) == 3 * k
        assert out_v['img_shape'] == out_f['img_shape'] == (SIZE, SIZE)
        assert 'video_reader' not in out_v


def test_full_pipelines_give_the_same_tensor(tmp_path, dfew_cfg):
    """Crop, resize, flip and packing act alike on both media."""
    video = write_clip(tmp_path, 'h264')
    twin = write_twin(tmp_path / 'frames')
    for mode, frame_key in (('train', 'train_pipeline'), ('test',
                                                          'test_pipeline')):
        np.random.seed(3)
        random.seed(3)  # RandomResizedCrop draws offsets from random
        out_v = Compose(
            copy.deepcopy(dfew_cfg[f'dfew_video_{mode}_pipeline']))(
                dict(filename=video, modality='RGB'))
        np.random.seed(3)
        random.seed(3)  # RandomResizedCrop draws offsets from random
        out_f = Compose(copy.deepcopy(dfew_cfg[frame_key]))(
            dict(frame_dir=twin, total_frames=NUM_FRAMES, modality='RGB'))
        a, b = out_v['inputs'].float(), out_f['inputs'].float()
        assert a.shape == b.shape == (1, 3, 16, 112, 112)
        assert float((a - b).abs().mean()) < 2.0
        assert out_v['inputs'].dtype == torch.uint8


def test_short_clip_is_padded_with_copies(tmp_path):
    video = write_clip(tmp_path, 'mjpeg', num_frames=5)
    pipe = Compose([
        DFERVideoInit(),
        dict(type='DFERSampleFrames', clip_len=8, test_mode=True),
        DFERVideoDecode()
    ])
    out = pipe(dict(filename=video))
    assert [frame_index(f) for f in out['imgs']] == [0, 1, 2, 3, 4, 4, 4, 4]
    out['imgs'][4][:] = 0
    assert frame_index(out['imgs'][5]) == 4 and out['imgs'][5].max() == 255
    assert out['num_padded_frames'] == 3


def test_start_index_and_offset(tmp_path):
    video = write_clip(tmp_path, 'h264', num_frames=10)
    results = DFERVideoInit()(dict(filename=video))
    results.update(frame_inds=np.array([3, 1]), start_index=1, offset=2)
    out = DFERVideoDecode()(results)
    assert [frame_index(f) for f in out['imgs']] == [4, 2]


def _cut(path: str, out: str) -> str:
    """Cut a video in the middle of its packet data."""
    with av.open(path) as container:
        first = next(p.pos for p in container.demux(video=0) if p.size)
    with open(path, 'rb') as f:
        data = f.read()
    with open(out, 'wb') as f:
        f.write(data[:first + (len(data) - first) // 2])
    return out


def _textured_avi(path: str) -> str:
    """An MJPEG AVI whose frames cost bytes (so half of it holds frames)."""
    rng = np.random.default_rng(0)
    frames = [
        np.clip(index_frame(k) + rng.integers(0, 9, (SIZE, SIZE, 3)), 0,
                255).astype(np.uint8) for k in range(NUM_FRAMES)
    ]
    return write_video(path, frames, 25, codec='mjpeg')


def test_truncated_video_is_refused_or_used(tmp_path):
    cut = _cut(
        _textured_avi(str(tmp_path / 'full.avi')), str(tmp_path / 'cut.avi'))
    decodable = VideoReader(cut).num_frames
    assert 0 < decodable < NUM_FRAMES
    with pytest.raises(CorruptClipError, match=r'cut\.avi is truncated'):
        DFERVideoInit()(dict(filename=cut))
    out = DFERVideoInit(allow_truncated=True)(dict(filename=cut))
    assert out['total_frames'] == decodable
    assert out['header_frames'] == NUM_FRAMES
    assert out['frame_shortfall'] == NUM_FRAMES - decodable
    out.update(frame_inds=np.array([decodable - 1]))
    assert frame_index(DFERVideoDecode()(out)['imgs'][0]) == decodable - 1


class _VideoList(BaseDFERDataset):
    """Video records of the given files, labels 0, 1, 2..."""

    def __init__(self, files, **kwargs) -> None:
        self.files = files
        super().__init__(media='video', **kwargs)

    def load_data_list(self) -> list:
        return [
            self.video_record(f, i % 7, osp.basename(f), f'list:{i + 1}')
            for i, f in enumerate(self.files)
        ]


@pytest.mark.parametrize('bad', ['truncated', 'garbage'])
def test_bad_video_follows_on_bad_clip(tmp_path, dfew_cfg, bad):
    good = write_clip(tmp_path, 'xvid')
    if bad == 'truncated':
        path = _cut(
            _textured_avi(str(tmp_path / 'full.avi')),
            str(tmp_path / 'bad.avi'))
    else:
        path = str(tmp_path / 'bad.avi')
        with open(path, 'wb') as f:
            f.write(np.random.default_rng(1).bytes(4000))
    files = [path, good]
    pipe = dfew_cfg.dfew_video_test_pipeline
    strict = _VideoList(files, pipeline=pipe, test_mode=True)
    with pytest.raises(CorruptClipError, match=r'bad\.avi'):
        strict[0]
    lenient = _VideoList(
        files, pipeline=pipe, test_mode=True, on_bad_clip='skip')
    sample = lenient[0]  # the next clip instead, in this process
    assert sample['inputs'].shape == (1, 3, 16, 112, 112)
    assert sample['data_samples'].gt_label.item() == 1
    assert [(i, p) for i, p, _ in lenient.skipped_clips] == [(0, path)]
    assert 'bad.avi' in lenient.skipped_clips[0][2]
