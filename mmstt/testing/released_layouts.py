# Copyright (c) OpenMMLab. All rights reserved.
"""FERV39k and MAFW look-alikes in the exact released layouts.

FERV39k and MAFW are licensed; tests and the tools' examples run on the
small deterministic stand-ins written here:

* :func:`make_ferv39k_sample` writes ``2_ClipsforFaceCrop/<Scene>/
  <Emotion>/<NNNN>/<frames>.jpg`` and ``4_setups/All_scenes/
  {train,test}_All.csv`` (``Action/Sad/0000 Sad`` lines, no header; the
  train list with CRLF, the test list with LF, as both occur). Ids restart
  at ``0000`` in every scene/emotion folder, as in the release.
* :func:`make_mafw_sample` writes ``data/frames/<NNNNN>/<frames>``,
  optionally ``data/clips/<NNNNN>.mp4``, and the five single-label fold
  lists ``Train & Test Set/single/no_caption/set_K/{train,test}.txt``
  (``00025.mp4 anger``, CRLF on every line): the test lists partition the
  clips and fold K trains on the other four test lists.

Every class occurs in every split (and fold), frames are named both ways
(``0.jpg ... N.jpg`` and ``00001.jpg ...``; some MAFW clips as .png), some
clips are shorter than 16 frames, and one MAFW clip's frame folder holds
one frame more than its video (the off-by-one of ffmpeg extractions).
Frames come from :func:`mmstt.testing.render_clip` when that exists, else
from a simple renderer here (a coloured face-like disc whose mouth opens
over the clip; the colour tells the class). Same seed, same files.
"""
import os
import os.path as osp
from typing import Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np

from mmstt.datasets.dfer_classes import DFER_CLASSES, MAFW_CLASSES

__all__ = [
    'FERV39K_EMOTION_FOLDERS', 'MAFW_LABEL_SPELLINGS', 'make_ferv39k_sample',
    'make_mafw_sample'
]

#: FERV39k emotion spellings in project label order.
FERV39K_EMOTION_FOLDERS = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise',
                           'Disgust', 'Fear')
#: MAFW label spellings in project label order (MAFW_CLASSES).
MAFW_LABEL_SPELLINGS = ('happiness', 'sadness', 'neutral', 'anger', 'surprise',
                        'disgust', 'fear', 'contempt', 'anxiety',
                        'helplessness', 'disappointment')
_SCENES = ('Action', 'DailyLife', 'Talkshow')


def _own_render(label: int, num_frames: int, seed: int,
                size: int) -> List[np.ndarray]:
    """RGB uint8 frames of a disc whose colour tells ``label`` (0..10)."""
    rng = np.random.default_rng(seed)
    hue = int(180 * label / len(MAFW_CLASSES))
    colour = cv2.cvtColor(np.uint8([[[hue, 200, 220]]]),
                          cv2.COLOR_HSV2RGB)[0, 0].tolist()
    centre = np.array([size / 2, size / 2]) + rng.uniform(-2, 2, 2)
    frames = []
    for i in range(num_frames):
        t = i / max(1, num_frames - 1)
        frame = np.full((size, size, 3), 90, np.uint8)
        frame = np.clip(frame + rng.normal(0, 4, frame.shape), 0,
                        255).astype(np.uint8)
        c = tuple(int(v) for v in centre)
        cv2.circle(frame, c, int(0.38 * size), colour, -1)
        for dx in (-0.14, 0.14):
            cv2.circle(frame, (int(c[0] + dx * size), int(c[1] - 0.1 * size)),
                       max(1, size // 24), (20, 20, 20), -1)
        mouth = max(1, int((0.02 + 0.1 * t) * size))
        cv2.ellipse(frame, (c[0], int(c[1] + 0.15 * size)),
                    (int(0.12 * size), mouth), 0, 0, 360, (40, 10, 10), -1)
        frames.append(frame)
    return frames


def _renderer() -> Callable[[int, int, int, int], List[np.ndarray]]:
    """DEMO's ``mmstt.testing.render_clip`` if present, else our own."""
    import mmstt.testing as testing
    render = getattr(testing, 'render_clip', None)
    if render is None:
        return _own_render
    return lambda label, n, seed, size: list(
        render(label, num_frames=n, seed=seed, size=size))


def _write_frames(folder: str, frames: Sequence[np.ndarray], style: str,
                  ext: str) -> None:
    """Write RGB frames named ``0.jpg ...`` (``'zero'``) or ``00001.jpg``."""
    os.makedirs(folder, exist_ok=True)
    for i, frame in enumerate(frames):
        name = f'{i}{ext}' if style == 'zero' else f'{i + 1:05d}{ext}'
        path = osp.join(folder, name)
        if not cv2.imwrite(path, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
            raise RuntimeError(f'cannot write {path}')


def _write_lines(path: str, lines: Sequence[str], newline: str) -> None:
    """Write ASCII lines, each (the last included) ended by ``newline``."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='ascii', newline='') as f:
        f.write(''.join(line + newline for line in lines))


def make_ferv39k_sample(root: str,
                        seed: int = 0,
                        train_per_class: int = 2,
                        test_per_class: int = 1,
                        frame_range: Tuple[int, int] = (8, 20),
                        size: int = 48) -> List[Dict]:
    """Write a FERV39k look-alike in the released layout.

    Args:
        root (str): Output folder (created).
        seed (int): Random seed. Defaults to 0.
        train_per_class (int): Train clips per class. Defaults to 2.
        test_per_class (int): Test clips per class. Defaults to 1.
        frame_range (tuple[int, int]): Frames per clip, inclusive (the
            release has 8-47, many shorter than 16). Defaults to
            ``(8, 20)``.
        size (int): Frame side in pixels. Defaults to 48.

    Returns:
        list[dict]: One dict per clip: ``clip`` (``Scene/Emotion/NNNN``),
        ``split``, ``label`` (project order), ``scene``, ``num_frames``,
        ``frame_dir``.
    """
    if train_per_class < 1 or test_per_class < 1:
        raise ValueError('every class needs a clip in every split')
    rng = np.random.default_rng(seed)
    render = _renderer()
    next_id: Dict[Tuple[str, str], int] = {}
    clips: List[Dict] = []
    lists: Dict[str, List[str]] = {'train': [], 'test': []}
    index = 0
    for split, per_class in (('train', train_per_class), ('test',
                                                          test_per_class)):
        for label, emotion in enumerate(FERV39K_EMOTION_FOLDERS):
            for _ in range(per_class):
                scene = _SCENES[index % len(_SCENES)]
                number = next_id.get((scene, emotion), 0)
                next_id[(scene, emotion)] = number + 1
                clip = f'{scene}/{emotion}/{number:04d}'
                num_frames = int(
                    rng.integers(frame_range[0], frame_range[1] + 1))
                folder = osp.join(root, '2_ClipsforFaceCrop', scene, emotion,
                                  f'{number:04d}')
                _write_frames(
                    folder, render(label, num_frames, seed * 1000 + index,
                                   size), 'zero' if index % 2 else 'padded',
                    '.jpg')
                lists[split].append(f'{clip} {emotion}')
                clips.append(
                    dict(
                        clip=clip,
                        split=split,
                        label=label,
                        scene=scene,
                        num_frames=num_frames,
                        frame_dir=folder))
                index += 1
    setups = osp.join(root, '4_setups', 'All_scenes')
    _write_lines(osp.join(setups, 'train_All.csv'), lists['train'], '\r\n')
    _write_lines(osp.join(setups, 'test_All.csv'), lists['test'], '\n')
    assert len(DFER_CLASSES) == len(FERV39K_EMOTION_FOLDERS)
    return clips


def _write_video(path: str, frames: Sequence[np.ndarray]) -> None:
    """Write RGB frames as an MPEG-4 .mp4 (VIDEO's writer when present)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    try:
        from mmstt.datasets.video_io import write_video
    except ImportError:
        write_video = None
    if write_video is not None:
        write_video(path, frames, fps=25.0)
        return
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 25.0,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path}')
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def make_mafw_sample(root: str,
                     seed: int = 0,
                     clips_per_class: int = 5,
                     frame_range: Tuple[int, int] = (10, 24),
                     size: int = 48,
                     frame_dir: str = 'data/frames',
                     write_videos: bool = True) -> List[Dict]:
    """Write a MAFW look-alike in the released layout.

    Args:
        root (str): Output folder (created).
        seed (int): Random seed. Defaults to 0.
        clips_per_class (int): Clips per class; at least 5 so that every
            class is in every fold's train and test list. Defaults to 5.
        frame_range (tuple[int, int]): Frames per clip, inclusive; every
            fourth clip has fewer than 16. Defaults to ``(10, 24)``.
        size (int): Frame side in pixels. Defaults to 48.
        frame_dir (str): Frame folder under ``root`` (its name differs
            between copies). Defaults to ``'data/frames'``.
        write_videos (bool): Also write ``data/clips/<NNNNN>.mp4``.
            Defaults to ``True``.

    Returns:
        list[dict]: One dict per clip: ``clip`` (``'00001'``), ``file``
        (``'00001.mp4'``), ``label`` (MAFW_CLASSES order), ``test_fold``
        (1..5), ``num_frames`` (frames in the folder), ``video_frames``
        (frames in the video, one fewer for the off-by-one clip),
        ``frame_dir``.
    """
    if clips_per_class < 5:
        raise ValueError('clips_per_class must be >= 5 (one per test fold)')
    rng = np.random.default_rng(seed)
    render = _renderer()
    clips: List[Dict] = []
    index = 0
    for label in range(len(MAFW_CLASSES)):
        for k in range(clips_per_class):
            index += 1
            clip = f'{index:05d}'
            num_frames = int(rng.integers(frame_range[0], frame_range[1] + 1))
            if index % 4 == 2:
                num_frames = int(rng.integers(8, 16))
            frames = render(label, num_frames, seed * 1000 + index, size)
            video_frames = num_frames
            if index == 3:  # the ffmpeg off-by-one: one more frame on disk
                video_frames = num_frames - 1
            folder = osp.join(root, frame_dir, clip)
            _write_frames(folder, frames, 'zero' if index % 2 else 'padded',
                          '.png' if index % 5 == 0 else '.jpg')
            if write_videos:
                _write_video(
                    osp.join(root, 'data', 'clips', f'{clip}.mp4'),
                    frames[:video_frames])
            clips.append(
                dict(
                    clip=clip,
                    file=f'{clip}.mp4',
                    label=label,
                    test_fold=k % 5 + 1,
                    num_frames=num_frames,
                    video_frames=video_frames,
                    frame_dir=folder))
    base = osp.join(root, 'Train & Test Set', 'single', 'no_caption')
    for fold in range(1, 6):
        for split in ('train', 'test'):
            lines = [
                f"{c['file']} {MAFW_LABEL_SPELLINGS[c['label']]}"
                for c in clips if (c['test_fold'] == fold) == (split == 'test')
            ]
            _write_lines(
                osp.join(base, f'set_{fold}', f'{split}.txt'), lines, '\r\n')
    return clips
