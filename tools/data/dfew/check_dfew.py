# Copyright (c) OpenMMLab. All rights reserved.
"""Validate a DFEW copy against all 10 split files and summarise it.

Checks, for every fold 1..5 and split train/test:

* the split file exists (``set_K.csv`` or ``single_{split}set_K.csv``),
  is UTF-8 or BOM-marked UTF-16 (line endings and encodings other than
  plain ASCII are noted), lists at least one clip, and every row is well
  formed with a label in 1..7;
* every listed clip has a non-empty frame folder under ``--frame-dir``
  (and, with ``--videos``, a video under ``--video-dir`` whose frames
  decode, with as many frames as the header says);
* with ``--decode ends|all``, that the first/last (or all) frames decode;
* train and test of a fold do not overlap, a clip has the same label in
  every file, every clip is in exactly one test fold, and every class
  occurs in every split.

Prints one table row per fold and split (clips, per-class counts, clips
shorter than ``--clip-len`` frames, min/median/max frames, missing and
empty folders), the notes and the problems found, and exits with 1 if
there is any problem.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, Optional, Sequence, Tuple

from mmstt.datasets import (DFER_CLASSES, DFERDataError, find_dfew_split_file,
                            parse_dfew_csv)
from mmstt.datasets.copy_check import CopyCheck, add_check_options

SPLITS = ('train', 'test')
FOLDS = (1, 2, 3, 4, 5)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

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
        '--videos',
        action='store_true',
        help='also check that every clip has a video whose frames decode')
    parser.add_argument(
        '--video-dir',
        default='Clip/original',
        help='folder of the original videos, relative to DATA_ROOT')
    parser.add_argument(
        '--video-ext', default='.mp4', help='extension of the videos')
    add_check_options(parser)
    return parser.parse_args(argv)


def check(args: argparse.Namespace) -> Tuple[str, CopyCheck]:
    """Run every check.

    Args:
        args (argparse.Namespace): Options of :func:`parse_args`.

    Returns:
        tuple: The summary table (str) and the :class:`CopyCheck` with the
        problems and notes.
    """
    result = CopyCheck(DFER_CLASSES, args.clip_len, args.decode)
    problems = result.problems
    splits: Dict[Tuple[int, str], Dict[str, int]] = {}
    where: Dict[str, str] = {}
    for fold in FOLDS:
        for split in SPLITS:
            try:
                path = find_dfew_split_file(args.data_root, fold, split)
            except DFERDataError as err:
                problems.append(str(err))
                continue
            if not result.check_text(path):
                continue
            rows = parse_dfew_csv(path, errors=problems)
            result.check_listed(path, len(rows))
            splits[(fold, split)] = {r.clip: r.label for r in rows}
            for r in rows:
                where.setdefault(r.clip, f'{path}:{r.line}')
    labels = result.check_folds(splits, FOLDS, 'split file',
                                lambda seen: str([x + 1 for x in seen]))
    frame_root = osp.join(args.data_root, args.frame_dir)
    video_root = osp.join(args.data_root, args.video_dir)
    result.scan_folders(((osp.join(frame_root, c), where[c])
                         for c in sorted(labels)), 'checking clips')
    if args.videos:
        for clip in sorted(labels):
            folder = osp.join(frame_root, clip)
            video = osp.join(video_root, clip + args.video_ext)
            count = result.video_frames(video, where[clip])
            result.compare_counts(result.frames[folder], count, where[clip],
                                  folder, video)
    folders = {c: osp.join(frame_root, c) for c in labels}
    return result.fold_table(splits, folders), result


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Check a DFEW copy.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        int: 0 if no problem was found, 1 otherwise, 2 on bad arguments.
    """
    args = parse_args(argv)
    if not osp.isdir(args.data_root):
        print(f'error: {args.data_root} is not a folder', file=sys.stderr)
        return 2
    table, result = check(args)
    print(f'DFEW copy at {args.data_root} (labels 1..7 = ' +
          ', '.join(f'{i + 1} {n}' for i, n in enumerate(DFER_CLASSES)) + ')')
    print(table)
    return result.report(args.max_problems)


if __name__ == '__main__':
    sys.exit(main())
