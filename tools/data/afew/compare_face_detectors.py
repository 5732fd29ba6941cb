# Copyright (c) OpenMMLab. All rights reserved.
"""Compare the face detectors on real photos and their hard variants.

The photos ship inside installed packages (nothing is downloaded):
matplotlib's ``grace_hopper.jpg`` and scikit-image's ``astronaut``, each
with one face whose box is known. Every photo is also darkened (gamma
2.2), dimmed, given low contrast, mirrored, rotated by +-30 degrees,
squeezed and shrunk, which gives the face instances counted. Photos
without a face (scikit-image's ``coffee``, ``chelsea`` - a cat -,
``rocket``, and a drawn image of shapes) count false detections.

A face counts as found when a detection's centre lies inside its (moved)
box; any other detection is a false one. Both detectors run on the same
images one after the other, alternating which goes first, so that the
per-frame times are comparable on a shared machine.

Example:
    python tools/data/afew/compare_face_detectors.py --repeats 5
    python tools/data/afew/compare_face_detectors.py --video clip.avi \
        --gamma 2.2
"""
import argparse
import json
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmstt.apis.face_detection import FACE_DETECTORS, build_face_detector

Box = Tuple[float, float, float, float]

#: Face box of each photo, ``(x1, y1, x2, y2)`` in its pixels.
PHOTO_FACES: Dict[str, Box] = {
    'grace_hopper': (183.0, 120.0, 353.0, 333.0),
    'astronaut': (178.0, 63.0, 268.0, 176.0),
}


def load_photo(name: str) -> np.ndarray:
    """A photo shipped in an installed package, RGB ``uint8``.

    Args:
        name (str): ``'grace_hopper'`` (matplotlib), ``'astronaut'``,
            ``'coffee'``, ``'chelsea'`` or ``'rocket'`` (scikit-image).

    Returns:
        np.ndarray: ``(H, W, 3)`` RGB image.
    """
    if name == 'grace_hopper':
        from matplotlib import cbook
        path = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f'cannot read {path}')
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    from skimage import data
    img = np.asarray(getattr(data, name)())
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def drawn_non_face(size: Tuple[int, int] = (480, 360)) -> np.ndarray:
    """A drawn image without a face: gradient, shapes, stripes and text.

    Args:
        size (tuple): ``(width, height)``. Defaults to ``(480, 360)``.

    Returns:
        np.ndarray: RGB ``uint8`` image.
    """
    width, height = size
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    img = (np.concatenate([x + 0 * y, y + 0 * x, 1 - x * y], axis=2) * 200 +
           30).astype(np.uint8)
    cv2.rectangle(img, (30, 40), (150, 160), (220, 40, 40), -1)
    cv2.circle(img, (300, 120), 60, (40, 200, 60), -1)
    pts = np.array([[200, 330], [260, 220], [330, 330]], np.int32)
    cv2.fillPoly(img, [pts], (250, 220, 30))
    for i in range(8):
        cv2.line(img, (360 + 12 * i, 200), (360 + 12 * i, 340), (20, 20, 90),
                 4)
    cv2.putText(img, 'mmstt', (20, 320), cv2.FONT_HERSHEY_SIMPLEX, 1.5,
                (10, 10, 10), 3)
    return img


def _rotate(img: np.ndarray, box: Box, angle: float) -> Tuple[np.ndarray, Box]:
    """Rotate about the centre (same size); the box of the moved face."""
    height, width = img.shape[:2]
    mat = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    out = cv2.warpAffine(
        img, mat, (width, height), borderMode=cv2.BORDER_REFLECT)
    x1, y1, x2, y2 = box
    corners = np.array([[x1, y1, 1], [x2, y1, 1], [x1, y2, 1], [x2, y2, 1]])
    moved = corners @ mat.T
    cx, cy = moved.mean(axis=0)
    half = max(x2 - x1, y2 - y1) / 2
    return out, (cx - half, cy - half, cx + half, cy + half)


def photo_variants(img: np.ndarray,
                   box: Box) -> List[Tuple[str, np.ndarray, Box]]:
    """The photo and its hard variants, each with the face box.

    Args:
        img (np.ndarray): RGB ``uint8`` photo.
        box (tuple): Its face box.

    Returns:
        list[tuple]: ``(variant name, image, face box)``: ``original``,
        ``dark_gamma2.2``, ``dimmed``, ``low_contrast``, ``mirrored``,
        ``rotated+30``, ``rotated-30``, ``squeezed``, ``small``.
    """
    height, width = img.shape[:2]
    x1, y1, x2, y2 = box
    f = img.astype(np.float64)
    mean = f.mean()
    out = [('original', img, box)]
    out.append(('dark_gamma2.2',
                (255 * (f / 255)**2.2).round().astype(np.uint8), box))
    out.append(('dimmed', (f * 0.35).round().astype(np.uint8), box))
    out.append(
        ('low_contrast',
         ((f - mean) * 0.3 + mean).round().clip(0, 255).astype(np.uint8), box))
    out.append(('mirrored', np.ascontiguousarray(img[:, ::-1]),
                (width - x2, y1, width - x1, y2)))
    out.append(('rotated+30', ) + _rotate(img, box, 30))
    out.append(('rotated-30', ) + _rotate(img, box, -30))
    sq = 0.7
    out.append(('squeezed',
                cv2.resize(
                    img, (round(width * sq), height),
                    interpolation=cv2.INTER_AREA), (x1 * sq, y1, x2 * sq, y2)))
    sm = 0.4
    out.append(('small',
                cv2.resize(
                    img, (round(width * sm), round(height * sm)),
                    interpolation=cv2.INTER_AREA), (x1 * sm, y1 * sm, x2 * sm,
                                                    y2 * sm)))
    return out


def score_detections(dets: np.ndarray, box: Optional[Box]) -> Tuple[bool, int]:
    """Whether the face was found, and how many detections are false.

    Args:
        dets (np.ndarray): ``(N, 5)`` detections.
        box (tuple, optional): The face box; None for an image without a
            face.

    Returns:
        tuple: ``(found, false_detections)``.
    """
    found, false = False, 0
    for x1, y1, x2, y2, _ in np.asarray(dets).reshape(-1, 5):
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        if box is not None and box[0] <= cx <= box[2] and \
                box[1] <= cy <= box[3] and not found:
            found = True
        else:
            false += 1
    return found, false


def benchmark(detectors: Sequence[str] = FACE_DETECTORS,
              repeats: int = 5) -> Dict:
    """Detection counts and median ms per image of each detector.

    Args:
        detectors (Sequence[str]): Detector names.
            Defaults to :data:`FACE_DETECTORS`.
        repeats (int): Timed runs per image and detector.
            Defaults to 5.

    Returns:
        dict: Per detector ``found``, ``faces``, ``false``, ``ms`` (median
        per image) and ``per_variant`` (found per variant name).
    """
    items: List[Tuple[str, np.ndarray, Optional[Box]]] = []
    for name, box in PHOTO_FACES.items():
        for variant, img, vbox in photo_variants(load_photo(name), box):
            items.append((f'{name}/{variant}', img, vbox))
    for name in ('coffee', 'chelsea', 'rocket'):
        items.append((name, load_photo(name), None))
    items.append(('drawn_shapes', drawn_non_face(), None))
    built = {d: build_face_detector(d) for d in detectors}
    stats = {
        d: dict(found=0, faces=0, false=0, times=[], per_variant={})
        for d in detectors
    }
    for k, (name, img, box) in enumerate(items):
        order = list(detectors) if k % 2 == 0 else list(detectors)[::-1]
        for d in order:
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                dets = built[d].detect(img)
                times.append(time.perf_counter() - start)
            found, false = score_detections(dets, box)
            s = stats[d]
            s['times'].append(float(np.median(times)) * 1000)
            s['false'] += false
            if box is not None:
                s['faces'] += 1
                s['found'] += int(found)
                s['per_variant'][name] = found
    for s in stats.values():
        s['ms'] = round(float(np.median(s.pop('times'))), 2)
    return stats


def benchmark_video(path: str,
                    detectors: Sequence[str] = FACE_DETECTORS,
                    gamma: float = 1.0) -> Dict:
    """Frames of a video in which each detector finds a face, and ms/frame.

    Args:
        path (str): The video (read with
            :class:`mmstt.datasets.video_io.VideoReader`).
        detectors (Sequence[str]): Detector names.
            Defaults to :data:`FACE_DETECTORS`.
        gamma (float): Darken every frame by this gamma first (1: as it
            is). Defaults to 1.0.

    Returns:
        dict: Per detector ``frames_with_face``, ``frames`` and ``ms``
        (median per frame).
    """
    from mmstt.datasets.video_io import VideoReader
    built = {d: build_face_detector(d) for d in detectors}
    stats = {d: dict(frames_with_face=0, frames=0, times=[]) for d in built}
    for k, frame in enumerate(VideoReader(path, cache_bytes=0).iter_frames()):
        if gamma != 1.0:
            frame = (255 * (frame / 255.0)**gamma).round().astype(np.uint8)
        order = list(built) if k % 2 == 0 else list(built)[::-1]
        for d in order:
            start = time.perf_counter()
            found = len(built[d].detect(frame)) > 0
            stats[d]['times'].append((time.perf_counter() - start) * 1000)
            stats[d]['frames'] += 1
            stats[d]['frames_with_face'] += int(found)
    for s in stats.values():
        s['ms'] = round(float(np.median(s.pop('times'))), 2)
    return stats


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print (and optionally save) the comparison.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        int: The exit status.
    """
    parser = argparse.ArgumentParser(
        description='Compare the YuNet and Haar face detectors on photos '
        'shipped in matplotlib and scikit-image and on their darkened, '
        'dimmed, low-contrast, mirrored, rotated, squeezed and shrunk '
        'variants (needs scikit-image).')
    parser.add_argument(
        '--repeats', type=int, default=5, help='timed runs per image')
    parser.add_argument(
        '--video',
        nargs='+',
        default=[],
        help='also count the frames of these videos in which each detector '
        'finds a face (e.g. a clip of your own data)')
    parser.add_argument(
        '--gamma',
        type=float,
        default=1.0,
        help='darken the --video frames by this gamma first (2.2: dark)')
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args(argv)
    stats = benchmark(repeats=args.repeats)
    for path in args.video:
        for name, s in benchmark_video(path, gamma=args.gamma).items():
            print(f'{name} on {path} (gamma {args.gamma:g}): a face in '
                  f'{s["frames_with_face"]}/{s["frames"]} frames, '
                  f'{s["ms"]:.2f} ms per frame (median)')
            stats[name].setdefault('videos', {})[path] = s
    for name, s in stats.items():
        print(f'{name}: found {s["found"]}/{s["faces"]} faces, '
              f'{s["false"]} false detections, {s["ms"]:.2f} ms per image '
              '(median)')
        missed = [v for v, ok in s['per_variant'].items() if not ok]
        print(f'  missed: {", ".join(missed) if missed else "none"}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(stats, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
