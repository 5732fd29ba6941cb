# Copyright (c) OpenMMLab. All rights reserved.
"""Crop the faces out of AFEW videos into frame folders (same tree).

AFEW's videos are whole movie frames; STT needs face crops. For every
video under SRC (``Train_AFEW/<Class>/<name>.avi`` ...) this tool decodes
all frames with OpenCV, finds the face in each frame with OpenCV's bundled
frontal-face Haar cascade (``cv2.data.haarcascades``; nothing is
downloaded), keeps the largest face, fills frames where none was found with
the box of the nearest frame that has one, smooths the boxes over time,
crops a square with a margin around the face, resizes it and writes
``DST/<same relative folder>/<name>/00001.jpg ...``. Read the result with
``AFEWDataset(data_root=DST, media='frames')``.

The work is resumable: a finished video's folder is written under a
temporary name and renamed at the end, so folders that exist are complete
and are skipped on the next run (``--overwrite`` redoes them). Videos where
no face was found in any frame are listed at the end and in
``DST/extract_faces_report.json``; they are not retried unless
``--retry-no-face`` is given.

Exit status: 0 when every video yielded a face folder, 1 when a video
could not be decoded or had no face (no-face videos do not count with
``--allow-no-face``), 2 on bad arguments.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

VIDEO_EXTS = ('.avi', '.mp4', '.mkv', '.mov', '.webm', '.mpg', '.mpeg', '.m4v')
REPORT_NAME = 'extract_faces_report.json'
PARTIAL_SUFFIX = '.partial'

Box = Tuple[float, float, float, float]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments; ``sys.argv[1:]`` when
            ``None``.

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        description='Detect and crop the face in every frame of the AFEW '
        'videos under SRC and write frame folders with the same tree '
        'under DST (OpenCV Haar cascade, no downloads). Resumable.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        'src',
        help='AFEW root holding Train_AFEW/ and Val_AFEW/ (any tree '
        'of videos works)')
    parser.add_argument(
        'dst',
        help='output root; DST/<relative folder>/<video name>/ gets '
        'the face frames 00001.jpg ...')
    parser.add_argument(
        '--size', type=int, default=224, help='side of the square crops')
    parser.add_argument(
        '--margin',
        type=float,
        default=0.2,
        help='margin added on every side of the detected face, as a '
        'fraction of the face box side')
    parser.add_argument(
        '--scale-factor',
        type=float,
        default=1.1,
        help='Haar cascade scale step (smaller is slower and finds more)')
    parser.add_argument(
        '--min-neighbors',
        type=int,
        default=5,
        help='Haar cascade minNeighbors (larger rejects more false faces)')
    parser.add_argument(
        '--min-face',
        type=float,
        default=0.1,
        help='smallest face side, as a fraction of the shorter frame side')
    parser.add_argument(
        '--detect-side',
        type=int,
        default=480,
        help='frames whose longer side exceeds this are downscaled for '
        'detection only (speed); 0 keeps the full size')
    parser.add_argument(
        '--smooth',
        type=int,
        default=5,
        help='temporal median window for the face boxes (1 = none)')
    parser.add_argument(
        '--cascade',
        default=osp.join(cv2.data.haarcascades,
                         'haarcascade_frontalface_default.xml'),
        help='Haar cascade XML file')
    parser.add_argument('--quality', type=int, default=95, help='JPEG quality')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='redo videos whose output folder already exists')
    parser.add_argument(
        '--retry-no-face',
        action='store_true',
        help='retry videos an earlier run found no face in')
    parser.add_argument(
        '--allow-no-face',
        action='store_true',
        help='exit with 0 even if some videos have no face (they are still '
        'listed)')
    return parser.parse_args(argv)


def find_videos(src: str) -> List[str]:
    """All video files below ``src``, as sorted relative paths.

    Args:
        src (str): Root folder.

    Returns:
        list[str]: Relative paths of files with a video extension.
    """
    found = []
    for folder, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in files:
            if osp.splitext(name)[1].lower() in VIDEO_EXTS:
                found.append(osp.relpath(osp.join(folder, name), src))
    return sorted(found)


def load_cascade(path: str) -> cv2.CascadeClassifier:
    """Load a Haar cascade, failing with the path if it cannot be read.

    Args:
        path (str): Cascade XML file.

    Returns:
        cv2.CascadeClassifier: The loaded cascade.
    """
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise FileNotFoundError(f'cannot load the Haar cascade {path}')
    return cascade


def read_frames(path: str) -> List[np.ndarray]:
    """Decode every frame of a video (BGR).

    Args:
        path (str): Video file.

    Returns:
        list[np.ndarray]: Frames of shape ``(H, W, 3)``.

    Raises:
        OSError: If the video cannot be opened or holds no frame.
    """
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise OSError(f'cannot open video {path}')
        frames = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        cap.release()
    if not frames:
        raise OSError(f'no frame could be decoded from {path}')
    return frames


def detect_face(frame: np.ndarray, cascade: cv2.CascadeClassifier,
                scale_factor: float, min_neighbors: int, min_face: float,
                detect_side: int) -> Optional[Box]:
    """Largest face box of one frame, in frame pixels.

    Args:
        frame (np.ndarray): BGR frame ``(H, W, 3)``.
        cascade (cv2.CascadeClassifier): The detector.
        scale_factor (float): ``detectMultiScale`` scale step.
        min_neighbors (int): ``detectMultiScale`` minNeighbors.
        min_face (float): Minimum face side / shorter frame side.
        detect_side (int): Downscale so the longer side is at most this
            (0: never).

    Returns:
        tuple or None: ``(x1, y1, x2, y2)`` or ``None`` if no face.
    """
    height, width = frame.shape[:2]
    scale = 1.0
    if detect_side and max(height, width) > detect_side:
        scale = detect_side / max(height, width)
        frame = cv2.resize(frame,
                           (round(width * scale), round(height * scale)))
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    side = max(12, int(min(gray.shape) * min_face))
    faces = cascade.detectMultiScale(
        gray,
        scaleFactor=scale_factor,
        minNeighbors=min_neighbors,
        minSize=(side, side))
    if len(faces) == 0:
        return None
    x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
    return (x / scale, y / scale, (x + w) / scale, (y + h) / scale)


def fill_and_smooth(boxes: List[Optional[Box]], window: int) -> List[Box]:
    """Give every frame a box: nearest detection, then a temporal median.

    Args:
        boxes (list): Per-frame box or ``None``; at least one box.
        window (int): Median window (odd values are centred).

    Returns:
        list[tuple]: One box per frame.
    """
    found = [i for i, b in enumerate(boxes) if b is not None]
    filled = []
    for i in range(len(boxes)):
        nearest = min(found, key=lambda j: (abs(j - i), j))
        filled.append(boxes[nearest])
    arr = np.array(filled, dtype=np.float64)
    if window > 1:
        half = window // 2
        arr = np.stack([
            np.median(arr[max(0, i - half):i + half + 1], axis=0)
            for i in range(len(arr))
        ])
    return [tuple(float(v) for v in row) for row in arr]


def crop_face(frame: np.ndarray, box: Box, margin: float,
              size: int) -> np.ndarray:
    """Square crop around ``box`` with a margin, resized to ``size``.

    Parts outside the frame are filled by replicating the border.

    Args:
        frame (np.ndarray): BGR frame ``(H, W, 3)``.
        box (tuple): Face ``(x1, y1, x2, y2)``.
        margin (float): Margin per side as a fraction of the box side.
        size (int): Output side.

    Returns:
        np.ndarray: uint8 crop ``(size, size, 3)``.
    """
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    side_i = max(1, int(round(side)))
    height, width = frame.shape[:2]
    pad = max(0, -left, -top, left + side_i - width, top + side_i - height)
    if pad:
        frame = cv2.copyMakeBorder(frame, pad, pad, pad, pad,
                                   cv2.BORDER_REPLICATE)
        left, top = left + pad, top + pad
    crop = frame[top:top + side_i, left:left + side_i]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def extract_video(path: str, out_dir: str, cascade: cv2.CascadeClassifier,
                  args: argparse.Namespace) -> Dict:
    """Detect, crop and write the faces of one video.

    Frames go to ``out_dir + '.partial'`` first, which is renamed to
    ``out_dir`` when complete.

    Args:
        path (str): Video file.
        out_dir (str): Frame folder to create.
        cascade (cv2.CascadeClassifier): The detector.
        args (argparse.Namespace): Options of :func:`parse_args`.

    Returns:
        dict: ``status`` (``'ok'``, ``'no_face'`` or ``'failed'``),
        ``frames``, ``detected`` (frames with a face), ``boxes`` (the box
        used per frame) and ``error`` (for failures).
    """
    try:
        frames = read_frames(path)
    except OSError as err:
        return dict(
            status='failed', frames=0, detected=0, boxes=[], error=str(err))
    boxes = [
        detect_face(f, cascade, args.scale_factor, args.min_neighbors,
                    args.min_face, args.detect_side) for f in frames
    ]
    detected = sum(b is not None for b in boxes)
    if detected == 0:
        return dict(
            status='no_face',
            frames=len(frames),
            detected=0,
            boxes=[],
            error=None)
    used = fill_and_smooth(boxes, args.smooth)
    partial = out_dir + PARTIAL_SUFFIX
    if osp.isdir(partial):
        shutil.rmtree(partial)
    os.makedirs(partial)
    for i, (frame, box) in enumerate(zip(frames, used)):
        crop = crop_face(frame, box, args.margin, args.size)
        target = osp.join(partial, f'{i + 1:05d}.jpg')
        if not cv2.imwrite(target, crop,
                           [cv2.IMWRITE_JPEG_QUALITY, args.quality]):
            raise OSError(f'cannot write {target}')
    if osp.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.replace(partial, out_dir)
    return dict(
        status='ok',
        frames=len(frames),
        detected=detected,
        boxes=used,
        error=None)


def load_report(path: str) -> Dict:
    """The report of an earlier run, or an empty one."""
    if osp.isfile(path):
        with open(path) as f:
            report = json.load(f)
        report.setdefault('no_face', [])
        report.setdefault('failed', {})
        return report
    return dict(no_face=[], failed={})


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the extraction.

    Args:
        argv (Sequence[str], optional): Command line arguments.

    Returns:
        int: The exit status.
    """
    args = parse_args(argv)
    if not osp.isdir(args.src):
        print(f'error: SRC {args.src} is not a folder', file=sys.stderr)
        return 2
    if osp.abspath(args.src) == osp.abspath(args.dst):
        print('error: DST must differ from SRC', file=sys.stderr)
        return 2
    cascade = load_cascade(args.cascade)
    videos = find_videos(args.src)
    if not videos:
        print(f'error: no video found under {args.src}', file=sys.stderr)
        return 1
    os.makedirs(args.dst, exist_ok=True)
    report_path = osp.join(args.dst, REPORT_NAME)
    old = load_report(report_path)
    old_no_face = set(old['no_face'])
    no_face, failed = [], {}
    done = skipped = 0
    for rel in tqdm(videos, desc='extracting faces', unit='video'):
        out_dir = osp.join(args.dst, osp.splitext(rel)[0])
        if osp.isdir(out_dir) and not args.overwrite:
            skipped += 1
            continue
        if rel in old_no_face and not args.retry_no_face:
            no_face.append(rel)
            continue
        result = extract_video(osp.join(args.src, rel), out_dir, cascade, args)
        if result['status'] == 'ok':
            done += 1
        elif result['status'] == 'no_face':
            no_face.append(rel)
        else:
            failed[rel] = result['error']
    report = dict(
        src=osp.abspath(args.src),
        videos=len(videos),
        extracted=done,
        already_done=skipped,
        no_face=sorted(no_face),
        failed=failed)
    with open(report_path, 'w') as f:
        json.dump(report, f, indent=2)
    print(f'{len(videos)} videos: {done} extracted, {skipped} already done, '
          f'{len(no_face)} without a face, {len(failed)} failed '
          f'(report: {report_path})')
    for rel in sorted(no_face):
        print(f'  no face found: {osp.join(args.src, rel)}')
    for rel, err in sorted(failed.items()):
        print(f'  failed: {osp.join(args.src, rel)}: {err}')
    if failed or (no_face and not args.allow_no_face):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
