# Copyright (c) OpenMMLab. All rights reserved.
"""A small, deterministic AFEW look-alike: whole frames, a face somewhere.

AFEW (EmotiW) ships whole-frame ``.avi`` videos, not face crops, so the
face tools (``tools/data/afew/extract_faces.py``, ``tools/demo.py
--detect-face``) need scenes in which a face must be found first.
:func:`make_afew_sample` writes ``Train_AFEW/<Class>/*.avi`` and
``Val_AFEW/<Class>/*.avi``: a scene with static objects and a frontal
cartoon face (:func:`draw_frontal_face`) of known box, moving slightly, whose
expression develops from neutral to the clip's class. The faces are
frontal and high-contrast on purpose so that OpenCV's Haar cascade finds
them; the DFEW look-alike made for learning is
:func:`~mmstt.testing.make_dfew_sample`. Same seed, same files.
"""
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from mmstt.datasets.dfer_classes import DFER_CLASSES

__all__ = [
    'FRONTAL_NEUTRAL', 'FRONTAL_APEX', 'AFEW_CLASS_FOLDERS',
    'frontal_expression_params', 'draw_frontal_face', 'make_afew_sample'
]

#: Face parameters of the neutral face (see :func:`draw_frontal_face`).
FRONTAL_NEUTRAL: Dict[str, float] = dict(
    eye_open=1.0,
    brow_raise=0.0,
    brow_tilt=0.0,
    nose_wrinkle=0.0,
    mouth_width=1.0,
    mouth_curve=0.0,
    mouth_open=0.0,
    mouth_asym=0.0)

#: Parameters that differ from neutral at the apex of each expression.
FRONTAL_APEX: Dict[str, Dict[str, float]] = {
    'happy':
    dict(eye_open=0.7, mouth_width=1.35, mouth_curve=0.08, mouth_open=0.04),
    'sad':
    dict(eye_open=0.75, brow_tilt=0.05, mouth_curve=-0.06, mouth_width=0.9),
    'neutral':
    dict(),
    'angry':
    dict(
        eye_open=0.6,
        brow_raise=-0.04,
        brow_tilt=-0.05,
        mouth_width=0.8,
        mouth_curve=-0.02),
    'surprise':
    dict(eye_open=1.45, brow_raise=0.07, mouth_open=0.11, mouth_width=0.7),
    'disgust':
    dict(
        eye_open=0.55,
        brow_raise=-0.02,
        nose_wrinkle=1.0,
        mouth_asym=0.04,
        mouth_curve=-0.03),
    'fear':
    dict(
        eye_open=1.4,
        brow_raise=0.05,
        brow_tilt=0.04,
        mouth_open=0.05,
        mouth_width=1.3),
}

#: AFEW (EmotiW) class folder names in DFER label order.
AFEW_CLASS_FOLDERS = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise',
                      'Disgust', 'Fear')

_SKIN_LIGHT = np.array([175., 200., 235.])  # BGR
_SKIN_DARK = np.array([70., 100., 150.])
_HAIR = ((30, 35, 45), (20, 25, 30), (40, 60, 90), (25, 45, 70))


def frontal_expression_params(name: str, intensity: float) -> Dict[str, float]:
    """Face parameters of expression ``name`` at ``intensity``.

    Args:
        name (str): A class of :data:`~mmstt.datasets.DFER_CLASSES`.
        intensity (float): 0 (neutral) .. 1 (apex).

    Returns:
        dict: Parameters for :func:`draw_frontal_face`, linearly interpolated
        between :data:`FRONTAL_NEUTRAL` and the apex.
    """
    apex = FRONTAL_APEX[name]
    return {
        k: v + intensity * (apex.get(k, v) - v)
        for k, v in FRONTAL_NEUTRAL.items()
    }


def draw_frontal_face(
    img: np.ndarray,
    center: Tuple[float, float],
    size: float,
    params: Dict[str, float],
    skin: Tuple[int, int, int] = (150, 180, 220),
    hair: Tuple[int, int, int] = (30, 35, 45)
) -> None:
    """Draw a frontal cartoon face in place (BGR image).

    The head is an ellipse of width ``0.8 * size`` and height ``size``
    centred on ``center``, with hair, neck, eyes, eyebrows, nose and mouth.

    Args:
        img (np.ndarray): uint8 BGR image of shape ``(H, W, 3)``.
        center (tuple): ``(x, y)`` centre of the head in pixels.
        size (float): Head height in pixels.
        params (dict): Face parameters (see :data:`FRONTAL_NEUTRAL`).
        skin (tuple): BGR skin colour. Defaults to a light tone.
        hair (tuple): BGR hair and eyebrow colour. Defaults to
            ``(30, 35, 45)``.
    """
    cx, cy = center
    s = float(size)

    def pt(x: float, y: float) -> Tuple[int, int]:
        return int(round(cx + x * s)), int(round(cy + y * s))

    def ax(a: float, b: float) -> Tuple[int, int]:
        return max(1, int(round(a * s))), max(1, int(round(b * s)))

    def width(w: float) -> int:
        return max(1, int(round(w * s)))

    aa = cv2.LINE_AA
    skin = tuple(int(c) for c in skin)
    hair = tuple(int(c) for c in hair)
    shade = tuple(int(c * 0.7) for c in skin)
    cv2.ellipse(img, pt(0, -0.08), ax(0.46, 0.56), 0, 0, 360, hair, -1, aa)
    cv2.rectangle(img, pt(-0.14, 0.35), pt(0.14, 0.75),
                  tuple(int(c * 0.85) for c in skin), -1)
    cv2.ellipse(img, pt(0, 0), ax(0.40, 0.50), 0, 0, 360, skin, -1, aa)
    cv2.ellipse(img, pt(0, -0.38), ax(0.38, 0.16), 0, 180, 360, hair, -1, aa)
    eye_open = params['eye_open']
    for side in (-1, 1):
        ex, ey = 0.17 * side, -0.07
        cv2.ellipse(img, pt(ex, ey), ax(0.085, 0.04 * eye_open), 0, 0, 360,
                    (235, 235, 235), -1, aa)
        cv2.circle(img, pt(ex, ey), width(0.033 * min(1.0, eye_open + 0.2)),
                   (30, 25, 20), -1, aa)
        raise_, tilt = params['brow_raise'], params['brow_tilt']
        cv2.line(img, pt(0.07 * side, -0.19 - raise_ - tilt),
                 pt(0.27 * side, -0.19 - raise_ + 0.5 * tilt), hair,
                 width(0.035), aa)
    cv2.line(img, pt(0, -0.04), pt(-0.03, 0.12), shade, width(0.015), aa)
    cv2.ellipse(img, pt(0, 0.13), ax(0.06, 0.025), 0, 0, 180, shade,
                width(0.015), aa)
    for k in range(3):
        if params['nose_wrinkle'] * 3 > k + 0.3:
            y = -0.02 + 0.03 * k
            cv2.line(img, pt(-0.06, y), pt(0.06, y), shade, width(0.01), aa)
    half = 0.13 * params['mouth_width']
    xs = np.linspace(-half, half, 21)
    upper = (0.27 - params['mouth_curve'] * (xs / half)**2 +
             params['mouth_asym'] * xs / half)
    lips = (70, 70, 160)
    if params['mouth_open'] > 0.01:
        lower = upper + params['mouth_open'] * (1 - (xs / half)**2)
        outline = np.concatenate(
            [np.stack([xs, upper], 1),
             np.stack([xs[::-1], lower[::-1]], 1)])
        poly = np.array([pt(x, y) for x, y in outline], np.int32)
        cv2.fillPoly(img, [poly], (40, 30, 60), aa)
        cv2.polylines(img, [poly], True, lips, width(0.02), aa)
    else:
        poly = np.array([pt(x, y) for x, y in zip(xs, upper)], np.int32)
        cv2.polylines(img, [poly], False, lips, width(0.03), aa)


def _background(height: int, width: int,
                rng: np.random.Generator) -> np.ndarray:
    """A vertical two-colour gradient (BGR, float32)."""
    top = rng.uniform(40, 210, 3)
    bottom = rng.uniform(40, 210, 3)
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    grad = top[None, None] * (1 - t) + bottom[None, None] * t
    return np.ascontiguousarray(
        np.repeat(grad, width, axis=1), dtype=np.float32)


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def _render_clip(label: int,
                 num_frames: int,
                 frame_hw: Tuple[int, int],
                 face_size: float,
                 center: Tuple[float, float],
                 rng: np.random.Generator,
                 props: int = 0) -> Iterator[Tuple[np.ndarray, tuple]]:
    """Yield ``(frame, face_box)`` for every frame of one clip.

    ``face_box`` is the head's ``(x1, y1, x2, y2)`` in pixels.
    """
    height, width = frame_hw
    name = DFER_CLASSES[label]
    back = _background(height, width, rng)
    for _ in range(props):  # static scene objects, clear of the face
        w, h = rng.uniform(0.1, 0.25) * width, rng.uniform(0.2, 0.5) * height
        for _ in range(20):
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            if (abs(x + w / 2 - center[0]) > w / 2 + 0.6 * face_size
                    or abs(y + h / 2 - center[1]) > h / 2 + 0.7 * face_size):
                break
        else:
            continue
        cv2.rectangle(back, (int(x), int(y)), (int(x + w), int(y + h)),
                      tuple(float(c) for c in rng.uniform(30, 220, 3)), -1)
    # Haar cascades find low-contrast (dark) drawn faces poorly, so the
    # tones stop short of the darkest end.
    skin = tuple(_SKIN_LIGHT + rng.uniform(0, 0.6) *
                 (_SKIN_DARK - _SKIN_LIGHT) + rng.uniform(-8, 8, 3))
    hair = _HAIR[int(rng.integers(len(_HAIR)))]
    onset, apex = rng.uniform(0.05, 0.35), rng.uniform(0.6, 0.9)
    peak = rng.uniform(0.85, 1.0)
    phase = rng.uniform(0, 2 * np.pi, 3)
    amp = 0.03 * face_size
    noise_seed = int(rng.integers(2**31))
    noise_rng = np.random.default_rng(noise_seed)
    for i in range(num_frames):
        t = i / max(1, num_frames - 1)
        intensity = peak * _smoothstep((t - onset) / (apex - onset))
        cx = center[0] + amp * np.sin(2 * np.pi * t + phase[0])
        cy = center[1] + amp * np.sin(2 * np.pi * t + phase[1])
        size = face_size * (1 + 0.03 * np.sin(2 * np.pi * t + phase[2]))
        frame = back.copy()
        frame += noise_rng.normal(0, 5, frame.shape).astype(np.float32)
        frame = np.clip(frame, 0, 255).astype(np.uint8)
        draw_frontal_face(frame, (cx, cy), size,
                          frontal_expression_params(name, intensity), skin,
                          hair)
        frame = cv2.GaussianBlur(frame, (3, 3), 0)
        box = (cx - 0.4 * size, cy - 0.5 * size, cx + 0.4 * size,
               cy + 0.5 * size)
        yield frame, tuple(float(v) for v in box)


def _write_video(path: str, frames: List[np.ndarray], fps: float,
                 fourcc: str) -> None:
    """Write BGR frames with OpenCV; fail loudly if nothing was written."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path} with {fourcc}')
    for frame in frames:
        writer.write(frame)
    writer.release()
    if not osp.isfile(path) or osp.getsize(path) == 0:
        raise RuntimeError(f'OpenCV wrote nothing to {path}')


def _num_frames(index: int, rng: np.random.Generator, frame_range: Tuple[int,
                                                                         int],
                short_range: Tuple[int, int], short_every: int) -> int:
    """Frame count of clip ``index``: every ``short_every``-th is short."""
    if short_every > 0 and index % short_every == short_every // 2:
        return int(rng.integers(short_range[0], short_range[1] + 1))
    return int(rng.integers(frame_range[0], frame_range[1] + 1))


def make_afew_sample(root: str,
                     seed: int = 0,
                     train_per_class: int = 2,
                     val_per_class: int = 1,
                     frame_size: Tuple[int, int] = (320, 240),
                     face_range: Tuple[float, float] = (80, 110),
                     frame_range: Tuple[int, int] = (16, 30),
                     short_range: Tuple[int, int] = (8, 15),
                     short_every: int = 5,
                     fps: float = 25.0,
                     class_folders: Optional[Tuple[str, ...]] = None,
                     progress: bool = False) -> List[dict]:
    """Write a small AFEW look-alike (whole-frame ``.avi`` videos).

    Each video (Motion-JPEG ``.avi``, ``frame_size`` pixels) shows a scene
    with a drawn face of ``face_range`` pixels somewhere in the frame,
    moving slightly; OpenCV's frontal-face Haar cascade detects it.

    Args:
        root (str): Output folder (created).
        seed (int): Random seed. Defaults to 0.
        train_per_class (int): Videos per class in ``Train_AFEW``.
            Defaults to 2.
        val_per_class (int): Videos per class in ``Val_AFEW``.
            Defaults to 1.
        frame_size (tuple): ``(width, height)``. Defaults to ``(320, 240)``.
        face_range (tuple): Min/max head height in pixels.
            Defaults to ``(80, 110)``.
        frame_range (tuple): Min/max frames of normal clips.
            Defaults to ``(16, 30)``.
        short_range (tuple): Min/max frames of short clips.
            Defaults to ``(8, 15)``.
        short_every (int): Every ``short_every``-th video is short.
            Defaults to 5.
        fps (float): Frame rate. Defaults to 25.
        class_folders (tuple, optional): Folder name of each class in label
            order. Defaults to :data:`AFEW_CLASS_FOLDERS` (EmotiW names).
        progress (bool): Show a progress bar. Defaults to ``False``.

    Returns:
        list[dict]: One entry per video: ``split`` (folder name),
        ``label``, ``path``, ``num_frames`` and ``face_boxes`` (the head's
        ``(x1, y1, x2, y2)`` per frame).
    """
    rng = np.random.default_rng(seed)
    folders = class_folders or AFEW_CLASS_FOLDERS
    width, height = frame_size
    videos = []
    index = 0
    used = set()
    bar = tqdm(
        total=(train_per_class + val_per_class) * len(folders),
        desc='drawing AFEW videos',
        unit='video',
        disable=not progress)
    for split, per_class in (('Train_AFEW', train_per_class), ('Val_AFEW',
                                                               val_per_class)):
        for j in range(per_class):
            for label, folder in enumerate(folders):
                out_dir = osp.join(root, split, folder)
                os.makedirs(out_dir, exist_ok=True)
                name = f'{int(rng.integers(10**6, 10**9)):09d}'
                while name in used:
                    name = f'{int(rng.integers(10**6, 10**9)):09d}'
                used.add(name)
                n = _num_frames(index, rng, frame_range, short_range,
                                short_every)
                index += 1
                face = rng.uniform(*face_range)
                margin = 0.6 * face
                center = (rng.uniform(margin, width - margin),
                          rng.uniform(margin, height - margin))
                frames, boxes = [], []
                for frame, box in _render_clip(
                        label, n, (height, width), face, center, rng, props=2):
                    frames.append(frame)
                    boxes.append(box)
                path = osp.join(out_dir, f'{name}.avi')
                _write_video(path, frames, fps, 'MJPG')
                videos.append(
                    dict(
                        split=split,
                        label=label,
                        path=path,
                        num_frames=n,
                        face_boxes=boxes))
                bar.update(1)
    bar.close()
    return videos
