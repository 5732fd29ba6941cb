# Copyright (c) OpenMMLab. All rights reserved.
"""A generated DFEW look-alike made for learning, in the released layout.

DFEW is licensed and can never be downloaded or committed, so ``make
demo``, the tests and the tools run on data generated here, laid out
exactly like the released copy (the same :class:`~mmstt.datasets.
DFEWDataset`, configs and tools read it)::

    root/
      EmoLabel_DataSplit/{train,test}(single-labeled)/set_{1..5}.csv
      Clip/clip_224x224/<id>/00001.jpg ...   # face-crop frames
      Clip/original/<id>.mp4                 # only with write_videos

Each clip is a drawn face (:mod:`mmstt.testing.faces`): its own identity
and scene, an expression that develops neutral -> onset -> apex (->
offset). Frames are written at ``frame_size`` pixels (the folder keeps
DFEW's name ``clip_224x224``; the pipelines resize whatever they read).
Clip lengths are log-normal like DFEW's (median ``median_frames``), with
some clips shorter than 16 frames. Clips are drawn in worker processes
from per-clip random streams, so the files depend only on the seed.
"""
import csv
import hashlib
import multiprocessing as mp
import os
import os.path as osp
from typing import List, Optional, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from mmstt.datasets.dfer_classes import DFER_CLASSES
from .afew_sample import _write_video
from .faces import render_frames, sample_identity, sample_scene

__all__ = [
    'SMALL_DFEW_SAMPLE', 'clip_lengths', 'identity_key', 'make_dfew_sample'
]

#: Options of :func:`make_dfew_sample` for the small set the test suite
#: shares (21 clips of 6-36 frames, fold 1 = 17 train / 4 test clips,
#: with videos), drawn in the calling process.
SMALL_DFEW_SAMPLE = dict(
    clips_per_class=3,
    frame_range=(16, 36),
    median_frames=None,
    short_range=(6, 15),
    short_every=6,
    write_videos=True,
    num_workers=0)


def identity_key(identity: dict) -> str:
    """A short stable hash of an identity from :func:`sample_identity`.

    Args:
        identity (dict): The identity.

    Returns:
        str: 12 hex digits; equal identities give equal keys.
    """
    text = repr(
        sorted((k, np.round(np.asarray(v, float), 6).tolist())
               for k, v in identity.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def clip_lengths(num_clips: int,
                 rng: np.random.Generator,
                 frame_range: Tuple[int, int] = (20, 150),
                 median_frames: Optional[float] = None,
                 short_range: Tuple[int, int] = (8, 15),
                 short_every: int = 25) -> List[int]:
    """Frame counts spread like DFEW's: log-normal, some short clips.

    Args:
        num_clips (int): Number of clips.
        rng (np.random.Generator): Random stream.
        frame_range (tuple): Min/max frames of normal clips.
            Defaults to ``(20, 150)``.
        median_frames (float, optional): Median of normal clips. Defaults
            to ``None`` (the geometric mean of ``frame_range``).
        short_range (tuple): Min/max frames of short clips.
            Defaults to ``(8, 15)``.
        short_every (int): Clip ``i`` with ``i % short_every ==
            short_every // 2`` is short (0: none). Defaults to 25.

    Returns:
        list[int]: One frame count per clip.
    """
    low, high = frame_range
    median = median_frames or float(np.sqrt(low * high))
    lengths = []
    for i in range(num_clips):
        if short_every > 0 and i % short_every == short_every // 2:
            n = rng.integers(short_range[0], short_range[1] + 1)
        else:
            n = np.clip(round(median * np.exp(0.45 * rng.normal())), low, high)
        lengths.append(int(n))
    return lengths


def _write_clip(task: tuple) -> Tuple[int, str]:
    """Draw and write one clip; returns ``(index, identity key)``."""
    (index, seed, label, num_frames, frame_dir, size, video, fps) = task
    rng = np.random.default_rng([seed, index])
    identity = sample_identity(rng)
    scene = sample_scene(rng, num_frames)
    os.makedirs(frame_dir, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, scene['jpeg_quality']]
    frames = []
    for i, frame in enumerate(
            render_frames(label, num_frames, rng, size, identity, scene)):
        ok, buf = cv2.imencode('.jpg', frame, params)
        if not ok:
            raise RuntimeError(f'cannot encode frame {i + 1} of {frame_dir}')
        with open(osp.join(frame_dir, f'{i + 1:05d}.jpg'), 'wb') as f:
            f.write(buf.tobytes())
        if video:
            frames.append(frame)
    if video:
        _write_video(video, frames, fps, 'mp4v')
    return index, identity_key(identity)


def make_dfew_sample(root: str,
                     seed: int = 0,
                     clips_per_class: int = 150,
                     frame_size: int = 112,
                     frame_range: Tuple[int, int] = (20, 150),
                     median_frames: Optional[float] = 48,
                     short_range: Tuple[int, int] = (8, 15),
                     short_every: int = 25,
                     write_videos: bool = False,
                     fps: float = 25.0,
                     num_workers: int = 2,
                     progress: bool = False) -> List[dict]:
    """Write a DFEW look-alike in the released layout under ``root``.

    Clip ids run 1..N with classes interleaved (clip ``j * 7 + c + 1`` is
    the ``j``-th clip of class ``c``). Clip ``j`` of class ``c`` is in the
    test split of fold ``(c + j) % 5 + 1`` and in the training split of
    the other folds, so classes are balanced in every split once
    ``clips_per_class`` is a multiple of 5. Every clip has its own
    identity, so no identity is shared between any training and test
    split. Split CSVs write unpadded ids (``video_name`` ``1``), folders
    are zero-padded (``00001``).

    Args:
        root (str): Output folder (created).
        seed (int): Random seed. Defaults to 0.
        clips_per_class (int): Clips per class. Defaults to 150.
        frame_size (int): Side of the square face frames. Defaults to 112.
        frame_range (tuple): Min/max frames of normal clips.
            Defaults to ``(20, 150)``.
        median_frames (float, optional): Median frames of normal clips.
            Defaults to 48 (``None``: geometric mean of ``frame_range``).
        short_range (tuple): Min/max frames of short clips.
            Defaults to ``(8, 15)``.
        short_every (int): One clip in ``short_every`` is short (0: none).
            Defaults to 25.
        write_videos (bool): Also write ``Clip/original/<id>.mp4``
            (MPEG-4 part 2, what OpenCV writes everywhere).
            Defaults to ``False``.
        fps (float): Frame rate of the videos. Defaults to 25.
        num_workers (int): Worker processes drawing clips (0: draw in this
            process). The files do not depend on it. Defaults to 2.
        progress (bool): Show a progress bar. Defaults to ``False``.

    Returns:
        list[dict]: One entry per clip, in id order: ``clip`` (5-digit
        id), ``label`` (0..6), ``num_frames``, ``test_fold``,
        ``identity`` (see :func:`identity_key`), ``frame_dir`` and
        ``video`` (path or ``None``).
    """
    if clips_per_class < 1:
        raise ValueError(f'clips_per_class must be >= 1, got '
                         f'{clips_per_class}')
    num_classes = len(DFER_CLASSES)
    num_clips = clips_per_class * num_classes
    lengths = clip_lengths(num_clips, np.random.default_rng(seed), frame_range,
                           median_frames, short_range, short_every)
    frame_root = osp.join(root, 'Clip', 'clip_224x224')
    video_root = osp.join(root, 'Clip', 'original')
    os.makedirs(frame_root, exist_ok=True)
    if write_videos:
        os.makedirs(video_root, exist_ok=True)
    clips, tasks = [], []
    for index in range(num_clips):
        j, label = divmod(index, num_classes)
        clip = f'{index + 1:05d}'
        video = osp.join(video_root, f'{clip}.mp4') if write_videos else None
        clips.append(
            dict(
                clip=clip,
                label=label,
                num_frames=lengths[index],
                test_fold=(label + j) % 5 + 1,
                frame_dir=osp.join(frame_root, clip),
                video=video))
        tasks.append((index, seed, label, lengths[index],
                      clips[-1]['frame_dir'], frame_size, video, fps))
    # Longest first, so that the workers finish together.
    tasks.sort(key=lambda t: -t[3])
    bar = tqdm(
        total=sum(lengths),
        desc='drawing DFEW clips',
        unit='frame',
        disable=not progress)
    if num_workers > 0:
        methods = mp.get_all_start_methods()
        ctx = mp.get_context('fork' if 'fork' in methods else None)
        # One OpenCV thread per worker, set in the parent before the fork:
        # a forked child that reconfigures OpenCV's thread pool waits for
        # pool threads that did not survive the fork and hangs.
        cv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            with ctx.Pool(num_workers) as pool:
                for index, key in pool.imap_unordered(_write_clip, tasks):
                    clips[index]['identity'] = key
                    bar.update(lengths[index])
        finally:
            cv2.setNumThreads(cv_threads)
    else:
        for task in tasks:
            index, key = _write_clip(task)
            clips[index]['identity'] = key
            bar.update(lengths[index])
    bar.close()
    for split in ('train', 'test'):
        folder = osp.join(root, 'EmoLabel_DataSplit',
                          f'{split}(single-labeled)')
        os.makedirs(folder, exist_ok=True)
        for fold in range(1, 6):
            with open(
                    osp.join(folder, f'set_{fold}.csv'), 'w', newline='') as f:
                writer = csv.writer(f)
                writer.writerow(['video_name', 'label'])
                for c in clips:
                    if (c['test_fold'] == fold) == (split == 'test'):
                        writer.writerow([int(c['clip']), c['label'] + 1])
    return clips
