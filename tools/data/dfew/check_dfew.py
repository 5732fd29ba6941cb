# Copyright (c) OpenMMLab. All rights reserved.
"""Validate a DFEW copy against all 10 split files and summarise it.

Checks, for every fold 1..5 and split train/test:

* the split file exists (``set_K.csv`` or ``single_{split}set_K.csv``)
  and every row is well formed with a label in 1..7;
* every listed clip has a non-empty frame folder under ``--frame-dir``
  (and, with ``--videos``, a non-empty video under ``--video-dir``);
* with ``--decode ends|all``, that the first/last (or all) frames decode;
* train and test of a fold do not overlap, a clip has the same label in
  every file, and every clip is in exactly one test fold.

Prints one table row per fold and split (clips, per-class counts, clips
shorter than ``--clip-len`` frames, min/median/max frames, problems) and
the problems found, and exits with 1 if there is any.
"""
import argparse
import os.path as osp
import sys
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from mmstt.datasets import (DFER_CLASSES, CorruptClipError, DFERDataError,
                            find_dfew_split_file, list_frame_files,
                            parse_dfew_csv)
from mmstt.datasets.transforms import FrameFolderDecode

SPLITS = ('train', 'test')
FOLDS = (1, 2, 3, 4, 5)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments; ``sys.argv[1:]`` when
            ``None``.

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        description='Validate a DFEW copy (split files, frame folders, '
        'labels, frame counts) against all 10 split files and print a '
        'summary table. Exits with 1 if any problem is found.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        'data_root', help='DFEW root holding EmoLabel_DataSplit/ and Clip/')
    parser.add_argument(
        '--frame-dir',
        default='Clip/clip_224x224',
        help='folder of the per-clip frame folders, relative to DATA_ROOT')
    parser.add_argument(
        '--clip-len',
        type=int,
        default=16,
        help='clips with fewer frames are counted as short (they are kept '
        'and padded by DFERSampleFrames)')
    parser.add_argument(
        '--videos',
        action='store_true',
        help='also check that every clip has a non-empty video')
    parser.add_argument(
        '--video-dir',
        default='Clip/original',
        help='folder of the original videos, relative to DATA_ROOT')
    parser.add_argument(
        '--video-ext', default='.mp4', help='extension of the videos')
    parser.add_argument(
        '--decode',
        choices=('none', 'ends', 'all'),
        default='none',
        help='decode no frame, the first and last frame, or every frame '
        'of each clip (slow) to find corrupt JPEGs')
    parser.add_argument(
        '--max-problems',
        type=int,
        default=50,
        help='print at most this many problems (all are counted)')
    return parser.parse_args(argv)


def _scan_clip(frame_dir: str, decode: str,
               decoder: FrameFolderDecode) -> Tuple[int, List[str]]:
    """Frame count of one clip folder and the problems found in it."""
    try:
        files = list_frame_files(frame_dir)
    except FileNotFoundError:
        return -1, [f'frame folder {frame_dir} does not exist']
    if not files:
        return 0, [f'frame folder {frame_dir} is empty']
    if decode == 'none':
        return len(files), []
    chosen = files if decode == 'all' else sorted({files[0], files[-1]})
    problems = []
    for name in chosen:
        try:
            decoder._decode(osp.join(frame_dir, name))
        except CorruptClipError as err:
            problems.append(str(err))
    return len(files), problems


def _table(rows: List[List[str]], header: List[str]) -> str:
    """Format rows as a fixed-width text table."""
    widths = [
        max(len(str(r[i])) for r in [header] + rows)
        for i in range(len(header))
    ]
    lines = ['  '.join(str(h).rjust(w) for h, w in zip(header, widths))]
    lines.append('  '.join('-' * w for w in widths))
    for r in rows:
        lines.append('  '.join(str(v).rjust(w) for v, w in zip(r, widths)))
    return '\n'.join(lines)


def check(args: argparse.Namespace) -> Tuple[str, List[str]]:
    """Run every check.

    Args:
        args (argparse.Namespace): Options of :func:`parse_args`.

    Returns:
        tuple: The summary table (str) and the list of problems.
    """
    problems: List[str] = []
    splits: Dict[Tuple[int, str], Dict[str, int]] = {}
    where: Dict[str, str] = {}
    for fold in FOLDS:
        for split in SPLITS:
            try:
                path = find_dfew_split_file(args.data_root, fold, split)
            except DFERDataError as err:
                problems.append(str(err))
                continue
            rows = parse_dfew_csv(path, errors=problems)
            splits[(fold, split)] = {r.clip: r.label for r in rows}
            for r in rows:
                where.setdefault(r.clip, f'{path}:{r.line}')
    # A clip must carry the same label everywhere.
    labels: Dict[str, set] = defaultdict(set)
    for table in splits.values():
        for clip, label in table.items():
            labels[clip].add(label)
    for clip, seen in sorted(labels.items()):
        if len(seen) > 1:
            problems.append(
                f'clip {clip} has different labels in different split '
                f'files: {sorted(x + 1 for x in seen)}')
    for fold in FOLDS:
        train = splits.get((fold, 'train'), {})
        test = splits.get((fold, 'test'), {})
        both = sorted(set(train) & set(test))
        if both:
            problems.append(
                f'fold {fold}: {len(both)} clip(s) in both train and test, '
                f'e.g. {", ".join(both[:5])}')
    test_count = Counter(
        c for (fold, split), t in splits.items() if split == 'test' for c in t)
    if all((f, 'test') in splits for f in FOLDS):
        odd = sorted(c for c in labels if test_count[c] != 1)
        if odd:
            problems.append(
                f'{len(odd)} clip(s) are not in exactly one test fold, '
                f'e.g. {", ".join(odd[:5])}')
    frame_root = osp.join(args.data_root, args.frame_dir)
    video_root = osp.join(args.data_root, args.video_dir)
    decoder = FrameFolderDecode()
    frames: Dict[str, int] = {}
    for clip in tqdm(sorted(labels), desc='checking clips', unit='clip'):
        count, found = _scan_clip(
            osp.join(frame_root, clip), args.decode, decoder)
        frames[clip] = count
        problems.extend(f'{where[clip]}: {p}' for p in found)
        if args.videos:
            video = osp.join(video_root, clip + args.video_ext)
            if not osp.isfile(video):
                problems.append(f'{where[clip]}: video {video} does not '
                                'exist')
            elif osp.getsize(video) == 0:
                problems.append(f'{where[clip]}: video {video} is empty')
    header = (
        ['fold', 'split', 'clips'] + list(DFER_CLASSES) +
        [f'<{args.clip_len}f', 'min', 'median', 'max', 'missing', 'empty'])
    rows = []
    for (fold, split), table in sorted(
            splits.items(), key=lambda kv: (kv[0][0], SPLITS.index(kv[0][1]))):
        counts = Counter(table.values())
        n = [frames[c] for c in table if frames[c] > 0]
        rows.append([fold, split, len(table)] +
                    [counts.get(i, 0) for i in range(len(DFER_CLASSES))] + [
                        sum(1 for v in n if v < args.clip_len),
                        min(n) if n else '-',
                        int(np.median(n)) if n else '-',
                        max(n) if n else '-',
                        sum(1 for c in table if frames[c] < 0),
                        sum(1 for c in table if frames[c] == 0),
                    ])
    return _table(rows, header), problems


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Check a DFEW copy.

    Args:
        argv (Sequence[str], optional): Command line arguments.

    Returns:
        int: 0 if no problem was found, 1 otherwise, 2 on bad arguments.
    """
    args = parse_args(argv)
    if not osp.isdir(args.data_root):
        print(f'error: {args.data_root} is not a folder', file=sys.stderr)
        return 2
    table, problems = check(args)
    print(f'DFEW copy at {args.data_root} (labels 1..7 = ' +
          ', '.join(f'{i + 1} {n}' for i, n in enumerate(DFER_CLASSES)) + ')')
    print(table)
    if problems:
        print(f'\n{len(problems)} problem(s):')
        for p in problems[:args.max_problems]:
            print(f'  {p}')
        if len(problems) > args.max_problems:
            print(f'  ... and {len(problems) - args.max_problems} more')
        return 1
    print('\nno problem found')
    return 0


if __name__ == '__main__':
    sys.exit(main())
