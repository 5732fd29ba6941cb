# Copyright (c) OpenMMLab. All rights reserved.
"""Segment-based frame sampling for DFER clips (Former-DFER protocol)."""
from typing import Dict, Optional

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ..errors import CorruptClipError


@TRANSFORMS.register_module()
class DFERSampleFrames(BaseTransform):
    """Sample ``clip_len`` frame indices by segments, padding short clips.

    The clip of ``total_frames`` frames is cut into ``num_segments`` equal
    segments and ``frames_per_segment`` consecutive frames are taken from
    each, so ``clip_len = num_segments * frames_per_segment``. The window
    starts at a random position inside its segment in training and in the
    middle of the segment at test time; windows never leave their segment,
    so they never overlap. The default is plain 16x1 segment sampling
    (one frame per segment); the paper's protocol is 8x2
    (``frames_per_segment=2``).

    A clip with fewer than ``clip_len`` frames is kept: all its frames are
    used in order and the last one is repeated until ``clip_len`` indices
    are reached (Former-DFER drops such clips; mmstt never does).

    Required keys: ``total_frames``; optional ``start_index`` (added to the
    indices, as MMAction2's samplers do), ``frame_dir`` / ``filename``
    (named in errors).

    Added keys: ``frame_inds`` (int64, shape ``(num_clips * clip_len,)``),
    ``clip_len``, ``num_clips``, ``frame_interval`` (``None``) and
    ``num_padded_frames`` (how many indices repeat the last frame).

    Args:
        clip_len (int): Frames per clip (T). Defaults to 16.
        num_segments (int, optional): Number of segments. Defaults to
            ``clip_len // frames_per_segment``.
        frames_per_segment (int, optional): Consecutive frames taken from
            each segment. Defaults to ``clip_len // num_segments``, or 1
            when ``num_segments`` is not given either.
        num_clips (int): Clips (views) per sample. In test mode clip ``j``
            starts at fraction ``(j + 0.5) / num_clips`` of the free room of
            each segment; in training every clip is drawn independently.
            Defaults to 1.
        test_mode (bool): Deterministic centre sampling. Defaults to
            ``False``.
    """

    def __init__(self,
                 clip_len: int = 16,
                 num_segments: Optional[int] = None,
                 frames_per_segment: Optional[int] = None,
                 num_clips: int = 1,
                 test_mode: bool = False) -> None:
        if clip_len < 1:
            raise ValueError(f'clip_len must be >= 1, got {clip_len}')
        if num_segments is None and frames_per_segment is None:
            frames_per_segment = 1
        if num_segments is None:
            num_segments = clip_len // frames_per_segment
        if frames_per_segment is None:
            frames_per_segment = clip_len // num_segments
        if (num_segments < 1 or frames_per_segment < 1
                or num_segments * frames_per_segment != clip_len):
            raise ValueError(
                f'num_segments ({num_segments}) x frames_per_segment '
                f'({frames_per_segment}) must equal clip_len ({clip_len})')
        if num_clips < 1:
            raise ValueError(f'num_clips must be >= 1, got {num_clips}')
        self.clip_len = clip_len
        self.num_segments = num_segments
        self.frames_per_segment = frames_per_segment
        self.num_clips = num_clips
        self.test_mode = test_mode

    def sample_indices(self, total_frames: int, clip: int = 0) -> np.ndarray:
        """Sample the 0-based frame indices of one clip.

        Args:
            total_frames (int): Number of frames of the video (> 0).
            clip (int): Index of the clip among ``num_clips`` (test mode).
                Defaults to 0.

        Returns:
            np.ndarray: int64 indices of shape ``(clip_len, )``.
        """
        n, k, s = total_frames, self.frames_per_segment, self.num_segments
        if n < self.clip_len:
            inds = np.arange(self.clip_len)
            return np.minimum(inds, n - 1).astype(np.int64)
        # Integer segment edges; every segment holds >= n // s >= k frames.
        edges = (np.arange(s + 1) * n) // s
        room = edges[1:] - edges[:-1] - k  # free start positions - 1
        if self.test_mode:
            offsets = (room * (2 * clip + 1)) // (2 * self.num_clips)
        else:
            offsets = np.floor(np.random.rand(s) * (room + 1)).astype(np.int64)
        starts = edges[:-1] + offsets
        inds = starts[:, None] + np.arange(k)[None, :]
        return inds.reshape(-1).astype(np.int64)

    def transform(self, results: Dict) -> Dict:
        """Add ``frame_inds`` and the clip layout keys to ``results``.

        Args:
            results (dict): The result dict; needs ``total_frames``.

        Returns:
            dict: ``results`` with the sampled indices.
        """
        total = int(results['total_frames'])
        if total <= 0:
            where = results.get('frame_dir', results.get('filename', '?'))
            raise CorruptClipError(f'clip {where} has no frames')
        inds = np.concatenate(
            [self.sample_indices(total, c) for c in range(self.num_clips)])
        results['frame_inds'] = inds + int(results.get('start_index', 0))
        results['clip_len'] = self.clip_len
        results['frame_interval'] = None
        results['num_clips'] = self.num_clips
        results['num_padded_frames'] = max(0, self.clip_len - total)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'num_segments={self.num_segments}, '
                f'frames_per_segment={self.frames_per_segment}, '
                f'num_clips={self.num_clips}, test_mode={self.test_mode})')
