# Copyright (c) OpenMMLab. All rights reserved.
import numpy as np
import pytest

import mmstt  # noqa: F401
from mmstt.datasets import CorruptClipError
from mmstt.datasets.transforms import DFERSampleFrames


def _inds(sampler: DFERSampleFrames, total: int, **extra) -> np.ndarray:
    results = sampler(dict(total_frames=total, **extra))
    return results['frame_inds']


def test_default_is_16x1() -> None:
    sampler = DFERSampleFrames()
    assert (sampler.clip_len, sampler.num_segments,
            sampler.frames_per_segment) == (16, 16, 1)
    sampler = DFERSampleFrames(clip_len=16, num_segments=8)
    assert sampler.frames_per_segment == 2
    sampler = DFERSampleFrames(clip_len=16, frames_per_segment=2)
    assert sampler.num_segments == 8


@pytest.mark.parametrize('kwargs', [
    dict(clip_len=16, num_segments=5),
    dict(clip_len=16, num_segments=8, frames_per_segment=3),
    dict(clip_len=0),
    dict(num_clips=0),
])
def test_bad_arguments(kwargs) -> None:
    with pytest.raises(ValueError):
        DFERSampleFrames(**kwargs)


def test_test_mode_centres_by_hand() -> None:
    # 32 frames, 16 segments of 2 frames: segment s = [2s, 2s+2), the
    # centre of room 1 is offset 1 // 2 = 0 -> frames 0, 2, 4, ...
    inds = _inds(DFERSampleFrames(test_mode=True), 32)
    np.testing.assert_array_equal(inds, np.arange(0, 32, 2))
    # 48 frames, 16 segments of 3 frames: centre frame 3s + 1.
    inds = _inds(DFERSampleFrames(test_mode=True), 48)
    np.testing.assert_array_equal(inds, np.arange(16) * 3 + 1)
    # 8x2 on 40 frames: segments of 5 frames [5s, 5s+5); room 3, offset 1
    # -> pairs (5s+1, 5s+2).
    sampler = DFERSampleFrames(frames_per_segment=2, test_mode=True)
    inds = _inds(sampler, 40)
    expected = np.stack([np.arange(8) * 5 + 1, np.arange(8) * 5 + 2], 1)
    np.testing.assert_array_equal(inds, expected.reshape(-1))


def test_test_mode_is_deterministic() -> None:
    sampler = DFERSampleFrames(frames_per_segment=2, test_mode=True)
    first = _inds(sampler, 71)
    for _ in range(3):
        np.testing.assert_array_equal(_inds(sampler, 71), first)


@pytest.mark.parametrize('total', [16, 17, 31, 71, 847])
@pytest.mark.parametrize('per_segment', [1, 2])
def test_train_windows_stay_in_their_segment(total, per_segment) -> None:
    np.random.seed(0)
    sampler = DFERSampleFrames(frames_per_segment=per_segment)
    segments = 16 // per_segment
    edges = (np.arange(segments + 1) * total) // segments
    seen = set()
    for _ in range(30):
        inds = _inds(sampler, total).reshape(segments, per_segment)
        assert inds.min() >= 0 and inds.max() < total
        for s, window in enumerate(inds):
            assert edges[s] <= window[0] and window[-1] < edges[s + 1]
            np.testing.assert_array_equal(np.diff(window), 1)
        seen.add(tuple(inds[:, 0]))
    if total > 16 * per_segment:
        assert len(seen) > 1  # random starts in training


def test_short_clip_is_padded_with_last_frame() -> None:
    for test_mode in (False, True):
        for per_segment in (1, 2):
            sampler = DFERSampleFrames(
                frames_per_segment=per_segment, test_mode=test_mode)
            results = sampler(dict(total_frames=11))
            expected = list(range(11)) + [10] * 5
            assert results['frame_inds'].tolist() == expected
            assert results['num_padded_frames'] == 5
    assert _inds(DFERSampleFrames(), 1).tolist() == [0] * 16


def test_layout_keys_and_start_index() -> None:
    results = DFERSampleFrames(test_mode=True)(
        dict(total_frames=32, start_index=1))
    assert results['clip_len'] == 16 and results['num_clips'] == 1
    assert results['frame_interval'] is None
    np.testing.assert_array_equal(results['frame_inds'],
                                  np.arange(0, 32, 2) + 1)


def test_multiple_test_clips_spread_in_segment() -> None:
    sampler = DFERSampleFrames(num_clips=2, test_mode=True)
    inds = _inds(sampler, 64).reshape(2, 16)
    # segments of 4 frames, room 3: offsets 3*1//4 = 0 and 3*3//4 = 2
    np.testing.assert_array_equal(inds[0], np.arange(16) * 4)
    np.testing.assert_array_equal(inds[1], np.arange(16) * 4 + 2)


def test_empty_clip_names_the_source() -> None:
    with pytest.raises(CorruptClipError, match='clips/00007'):
        DFERSampleFrames()(dict(total_frames=0, frame_dir='clips/00007'))
