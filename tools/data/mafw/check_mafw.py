# Copyright (c) OpenMMLab. All rights reserved.
"""Validate a MAFW copy against its 10 single-label fold lists.

Checks, for every fold 1..5 and split train/test
(``Train & Test Set/single/no_caption/set_K/{train,test}.txt``):

* the list exists, is UTF-8 (or BOM-marked UTF-16; other encodings are
  problems), lists at least one clip, every line is ``00025.mp4 <label>``
  with one of the 11 labels (caption/compound lines are problems), and
  line endings other than the release's CRLF are noted;
* every listed clip has a non-empty frame folder under ``--frame-dir``
  (with ``--decode ends|all``, whose first/last or every frame decodes)
  and, with ``--videos``, a video under ``--video-dir`` whose frames
  decode; a frame folder and its video that differ by one frame are
  noted (ffmpeg extractions), by more a problem;
* train and test of a fold do not overlap, a clip has the same label in
  every list, the five test lists partition the clips, fold K's train
  list is the other four test lists, and every class occurs in every
  list.

Prints one table row per fold and split (clips, per-class counts, clips
shorter than ``--clip-len`` frames, min/median/max frames, missing and
empty folders), the notes and the problems, and exits with 1 if there is
any problem.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, Optional, Sequence, Tuple

from mmstt.datasets import (MAFW_CLASSES, MAFWDataset, mafw_split_file,
                            parse_mafw_list)
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
        description='Validate a MAFW copy (the 11-class single-label fold '
        'lists, frame folders, videos, labels, frame counts) and print a '
        'summary table. Exits with 1 if any problem is found.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        'data_root', help='MAFW root holding data/ and "Train & Test Set/"')
    parser.add_argument(
        '--frame-dir',
        default='data/frames',
        help='folder of the per-clip frame folders, relative to DATA_ROOT '
        '(other copies: data/faces, data/frames/frames, '
        'data/frames/frames_crop_align_224)')
    parser.add_argument(
        '--videos',
        action='store_true',
        help='also decode every video and compare its frame count with '
        'the frame folder')
    parser.add_argument(
        '--video-dir',
        default='data/clips',
        help='folder of the videos, relative to DATA_ROOT')
    add_check_options(parser)
    return parser.parse_args(argv)


def check(args: argparse.Namespace) -> Tuple[str, CopyCheck]:
    """Run every check.

    Args:
        args (argparse.Namespace): Options of :func:`parse_args`.

    Returns:
        tuple: The summary table (str) and the :class:`CopyCheck`.
    """
    result = CopyCheck(
        MAFW_CLASSES, args.clip_len, args.decode, expected_endings=('\r\n', ))
    problems = result.problems
    splits: Dict[Tuple[int, str], Dict[str, int]] = {}
    where: Dict[str, str] = {}
    files: Dict[str, str] = {}
    for fold in FOLDS:
        for split in SPLITS:
            path = mafw_split_file(args.data_root, fold, split)
            if not result.check_text(path):
                continue
            rows = parse_mafw_list(path, errors=problems)
            result.check_listed(path, len(rows))
            splits[(fold, split)] = {r.clip: r.label for r in rows}
            for r in rows:
                where.setdefault(r.clip, f'{path}:{r.line}')
                files.setdefault(r.clip, r.filename)
    labels = result.check_folds(
        splits, FOLDS, 'list',
        lambda seen: ', '.join(MAFW_CLASSES[x] for x in seen))
    if all((f, 'test') in splits for f in FOLDS):
        # MAFW's train list of a fold is the other four test lists.
        for fold in FOLDS:
            if (fold, 'train') not in splits:
                continue
            others = {
                c
                for f in FOLDS if f != fold for c in splits[(f, 'test')]
            }
            train = set(splits[(fold, 'train')])
            if train != others:
                problems.append(
                    f'fold {fold}: the train list is not the other four '
                    f'test lists ({len(train - others)} extra, '
                    f'{len(others - train)} missing clip(s))')
    frame_root = osp.join(args.data_root, args.frame_dir)
    folders = {c: MAFWDataset.clip_folder(frame_root, c) for c in labels}
    result.scan_folders(((folders[c], where[c]) for c in sorted(labels)),
                        'checking clips')
    if args.videos:
        video_root = osp.join(args.data_root, args.video_dir)
        for clip in sorted(labels):
            video = osp.join(video_root, files[clip])
            count = result.video_frames(video, where[clip])
            result.compare_counts(result.frames[folders[clip]], count,
                                  where[clip], folders[clip], video)
    return result.fold_table(splits, folders), result


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Check a MAFW copy.

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
    print(f'MAFW copy at {args.data_root} (labels 0..10 = ' +
          ', '.join(f'{i} {n}' for i, n in enumerate(MAFW_CLASSES)) + ')')
    print(table)
    return result.report(args.max_problems)


if __name__ == '__main__':
    sys.exit(main())
