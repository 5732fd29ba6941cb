# Copyright (c) OpenMMLab. All rights reserved.
"""Validate a FERV39k copy against its official split lists and summarise.

Checks, for the train and test lists (``4_setups/All_scenes/
{train,test}_All.csv``):

* the list exists, is UTF-8 (or BOM-marked UTF-16; other encodings are
  problems, non-ASCII encodings and line endings other than LF/CRLF are
  noted), lists at least one clip, and every line is
  ``Scene/Emotion/NNNN Emotion`` with a known emotion;
* the label agrees with the emotion folder of the path;
* every listed clip has a non-empty frame folder under ``--frame-dir``
  (with ``--decode ends|all``, whose first/last or every frame decodes);
* train and test do not overlap and every class occurs in both splits;
  scenes outside the 22 of the release are noted.

Prints a table per split (clips, per-class counts, clips shorter than
``--clip-len`` frames, min/median/max frames, missing and empty folders),
a table of clips per scene, the notes and the problems, and exits with 1
if there is any problem.
"""
import argparse
import os.path as osp
import sys
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

from mmstt.datasets import DFER_CLASSES, ferv39k_split_file, parse_ferv39k_list
from mmstt.datasets.copy_check import (CopyCheck, add_check_options,
                                       format_table)

SPLITS = ('train', 'test')
#: The 22 scenes of the release.
SCENES = ('Action', 'Argue', 'Business', 'Conflict', 'Contest', 'Crime',
          'Crisis', 'DailyLife', 'ElegantArt', 'Experiment', 'History',
          'Interview', 'Liveshow', 'Medicine', 'OfficialEvent',
          'ScholarReport', 'School', 'Social', 'Speech', 'Talkshow', 'Terror',
          'War')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        description='Validate a FERV39k copy (split lists, frame folders, '
        'labels, frame counts, scenes) and print summary tables. Exits '
        'with 1 if any problem is found.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        'data_root',
        help='FERV39k root holding 2_ClipsforFaceCrop/ and 4_setups/')
    parser.add_argument(
        '--frame-dir',
        default='2_ClipsforFaceCrop',
        help='folder of the <Scene>/<Emotion>/<NNNN>/ frame tree, relative '
        'to DATA_ROOT')
    add_check_options(parser)
    return parser.parse_args(argv)


def check(args: argparse.Namespace) -> Tuple[str, CopyCheck]:
    """Run every check.

    Args:
        args (argparse.Namespace): Options of :func:`parse_args`.

    Returns:
        tuple: The summary tables (str) and the :class:`CopyCheck`.
    """
    result = CopyCheck(
        DFER_CLASSES,
        args.clip_len,
        args.decode,
        expected_endings=('\n', '\r\n'))
    frame_root = osp.join(args.data_root, args.frame_dir)
    lists: Dict[str, list] = {}
    for split in SPLITS:
        path = ferv39k_split_file(args.data_root, split)
        if not result.check_text(path):
            continue
        rows = parse_ferv39k_list(path, errors=result.problems)
        result.check_listed(path, len(rows))
        lists[split] = [(row, f'{path}:{row.line}') for row in rows]
        for row, where in lists[split]:
            if row.folder_label != row.label:
                folder = row.clip.split('/')[1]
                result.problems.append(
                    f'{where}: label {DFER_CLASSES[row.label]} but the path '
                    f'is in the emotion folder {folder!r}')
    if len(lists) == 2:
        both = sorted({r.clip
                       for r, _ in lists['train']}
                      & {r.clip
                         for r, _ in lists['test']})
        if both:
            result.problems.append(
                f'{len(both)} clip(s) in both train and test, e.g. ' +
                ', '.join(both[:5]))
    folders = {
        split: [osp.join(frame_root, *r.clip.split('/')) for r, _ in rows]
        for split, rows in lists.items()
    }
    for split, rows in lists.items():
        result.scan_folders(
            zip(folders[split], [w for _, w in rows]), f'checking {split}')
    table_rows: List[list] = []
    scenes: Dict[str, Counter] = {}
    for split, rows in lists.items():
        labels = [r.label for r, _ in rows]
        result.missing_classes(split, labels)
        table_rows.append([split] + result.split_row(labels, folders[split]))
        scenes[split] = Counter(r.scene for r, _ in rows)
    unknown = sorted({s for c in scenes.values() for s in c} - set(SCENES))
    if unknown:
        result.notes.append('scene(s) outside the 22 of the release: ' +
                            ', '.join(unknown))
    scene_rows = [[scene] + [scenes.get(s, {}).get(scene, 0) for s in lists]
                  for scene in sorted({s
                                       for c in scenes.values()
                                       for s in c})]
    text = format_table(table_rows, result.header('split'))
    if scene_rows:
        text += '\n\n' + format_table(scene_rows, ['scene', *lists])
    return text, result


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Check a FERV39k copy.

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
    print(f'FERV39k copy at {args.data_root} (labels in project order: ' +
          ', '.join(DFER_CLASSES) + ')')
    print(table)
    return result.report(args.max_problems)


if __name__ == '__main__':
    sys.exit(main())
