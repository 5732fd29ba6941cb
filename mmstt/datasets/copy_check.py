# Copyright (c) OpenMMLab. All rights reserved.
"""What the data set checking tools share (``tools/data/*/check_*.py``).

A :class:`CopyCheck` collects the problems (which make the tool exit
non-zero) and notes (facts worth knowing that are not wrong, e.g. an
encoding that is read correctly) of one data set copy; it checks
annotation files (encoding, line endings, clips listed), frame folders
(missing, empty, frame count, optionally decodable) and videos, and prints
per-split tables of class counts and frame counts.
"""
import argparse
import os.path as osp
from collections import Counter, defaultdict
from typing import (Callable, Dict, Iterable, List, Optional, Sequence, Set,
                    Tuple)

import numpy as np
from tqdm import tqdm

from .annotation_text import read_annotation_text
from .errors import CorruptClipError, DFERDataError
from .frame_folder import list_frame_files

__all__ = ['CopyCheck', 'format_table', 'DECODE_CHOICES', 'add_check_options']

#: ``--decode`` choices: no frame, first and last frame, every frame.
DECODE_CHOICES = ('none', 'ends', 'all')

_ENDING_NAMES = {'\r\n': 'CRLF', '\n': 'LF', '\r': 'CR'}


def add_check_options(parser: argparse.ArgumentParser) -> None:
    """Add the options every checking tool has: ``--clip-len``,
    ``--decode`` and ``--max-problems``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--clip-len',
        type=int,
        default=16,
        help='clips with fewer frames are counted as short (they are kept '
        'and padded by DFERSampleFrames)')
    parser.add_argument(
        '--decode',
        choices=DECODE_CHOICES,
        default='none',
        help='decode no frame, the first and last frame, or every frame '
        'of each clip (slow) to find corrupt images')
    parser.add_argument(
        '--max-problems',
        type=int,
        default=50,
        help='print at most this many problems and notes (all are counted)')


def format_table(rows: Sequence[Sequence], header: Sequence[str]) -> str:
    """Format rows as a right-aligned fixed-width text table.

    Args:
        rows (Sequence[Sequence]): Table rows.
        header (Sequence[str]): Column names.

    Returns:
        str: Header, a rule and one line per row.
    """
    widths = [
        max(len(str(r[i])) for r in [header, *rows])
        for i in range(len(header))
    ]
    lines = ['  '.join(str(h).rjust(w) for h, w in zip(header, widths))]
    lines.append('  '.join('-' * w for w in widths))
    for r in rows:
        lines.append('  '.join(str(v).rjust(w) for v, w in zip(r, widths)))
    return '\n'.join(lines)


class CopyCheck:
    """Problems, notes and frame counts of one data set copy.

    Args:
        classes (Sequence[str]): Class names in label order.
        clip_len (int): Clips with fewer frames are counted as short.
            Defaults to 16.
        decode (str): Decode ``'none'``, the first and last (``'ends'``)
            or ``'all'`` frames of each clip. Defaults to ``'none'``.
        expected_endings (Sequence[str], optional): Line endings the
            release uses (e.g. ``('\\r\\n',)``); others give a note.
            Defaults to ``None`` (no expectation).
    """

    def __init__(self,
                 classes: Sequence[str],
                 clip_len: int = 16,
                 decode: str = 'none',
                 expected_endings: Optional[Sequence[str]] = None) -> None:
        if decode not in DECODE_CHOICES:
            raise ValueError(f'decode must be one of {DECODE_CHOICES}')
        self.classes = tuple(classes)
        self.clip_len = clip_len
        self.decode = decode
        self.expected_endings = (None if expected_endings is None else
                                 tuple(expected_endings))
        self.problems: List[str] = []
        self.notes: List[str] = []
        #: Frames on disk per checked folder (-1 missing, 0 empty).
        self.frames: Dict[str, int] = {}
        self._decoder = None

    # ------------------------------------------------------------------
    # annotation files
    # ------------------------------------------------------------------
    def check_text(self, path: str) -> bool:
        """Check an annotation file's encoding and line endings.

        Args:
            path (str): The file.

        Returns:
            bool: ``False`` when the file is missing or cannot be decoded
            (a problem is recorded), ``True`` otherwise.
        """
        try:
            text = read_annotation_text(path)
        except DFERDataError as err:
            self.problems.append(str(err))
            return False
        if text.encoding != 'utf-8':
            self.notes.append(f'{path}: encoded as {text.encoding} (read '
                              'correctly; the release is ASCII)')
        endings = {k: v for k, v in text.endings.items() if k}
        if len(endings) > 1:
            mix = ', '.join(f'{v} {_ENDING_NAMES[k]}'
                            for k, v in sorted(endings.items()))
            self.notes.append(f'{path}: mixed line endings ({mix})')
        elif (endings and self.expected_endings is not None
              and set(endings) - set(self.expected_endings)):
            (found, ) = endings
            want = '/'.join(_ENDING_NAMES[e] for e in self.expected_endings)
            self.notes.append(
                f'{path}: {_ENDING_NAMES[found]} line endings (the release '
                f'uses {want}; both are read)')
        return True

    def check_listed(self, path: str, num_rows: int) -> None:
        """Record a problem when a split file lists no clip.

        Args:
            path (str): The split file.
            num_rows (int): Clips parsed from it.
        """
        if num_rows == 0 and not any(path in p for p in self.problems):
            self.problems.append(f'no clips listed in {path}')

    # ------------------------------------------------------------------
    # media
    # ------------------------------------------------------------------
    def _decode_problems(self, frame_dir: str, files: List[str]) -> List[str]:
        """Problems decoding the chosen frames of a folder."""
        if self.decode == 'none':
            return []
        from .transforms import FrameFolderDecode
        if self._decoder is None:
            self._decoder = FrameFolderDecode()
        inds = (
            range(len(files))
            if self.decode == 'all' else sorted({0, len(files) - 1}))
        problems = []
        for idx in inds:
            try:
                self._decoder.transform(
                    dict(
                        frame_dir=frame_dir,
                        frame_files=files,
                        frame_inds=np.array([idx])))
            except CorruptClipError as err:
                problems.append(str(err))
        return problems

    def scan_folder(self, frame_dir: str, where: str) -> int:
        """Count (and optionally decode) the frames of one clip folder.

        Args:
            frame_dir (str): The clip's frame folder.
            where (str): Where the clip is listed (``file:line``).

        Returns:
            int: Frames on disk; -1 when the folder is missing, 0 when it
            holds no image (both recorded as problems).
        """
        try:
            files = list_frame_files(frame_dir)
        except FileNotFoundError:
            self.problems.append(
                f'{where}: frame folder {frame_dir} does not exist')
            self.frames[frame_dir] = -1
            return -1
        if not files:
            self.problems.append(f'{where}: frame folder {frame_dir} is '
                                 'empty')
            self.frames[frame_dir] = 0
            return 0
        self.problems.extend(f'{where}: {p}'
                             for p in self._decode_problems(frame_dir, files))
        self.frames[frame_dir] = len(files)
        return len(files)

    def scan_folders(self, folders: Iterable[Tuple[str, str]],
                     desc: str) -> None:
        """:meth:`scan_folder` with a progress bar.

        Args:
            folders (Iterable[tuple[str, str]]): ``(frame_dir, where)``.
            desc (str): Progress bar label.
        """
        folders = list(folders)
        for frame_dir, where in tqdm(folders, desc=desc, unit='clip'):
            if frame_dir not in self.frames:
                self.scan_folder(frame_dir, where)

    def video_frames(self, path: str, where: str) -> int:
        """Frames that decode from a video (-1 missing/empty/unreadable).

        Args:
            path (str): The video file.
            where (str): Where the clip is listed (``file:line``).

        Returns:
            int: The number of frames that actually decode, or -1 (a
            problem is recorded).
        """
        if not osp.isfile(path):
            self.problems.append(f'{where}: video {path} does not exist')
            return -1
        if osp.getsize(path) == 0:
            self.problems.append(f'{where}: video {path} is empty')
            return -1
        from .video_io import VideoReader
        try:
            reader = VideoReader(path)
            count = reader.num_frames
        except CorruptClipError as err:
            self.problems.append(f'{where}: {err}')
            return -1
        header = getattr(reader, 'header_frames', None)
        if header is not None and header > count:
            self.problems.append(
                f'{where}: video {path} decodes {count} frames but its '
                f'header says {header} (truncated?)')
        return count

    def compare_counts(self, folder_count: int, video_count: int, where: str,
                       folder: str, video: str) -> None:
        """Compare a clip's frame folder with its video.

        A difference of one frame (ffmpeg extractions) is a note, a larger
        one a problem.

        Args:
            folder_count (int): Frames in the folder.
            video_count (int): Frames that decode from the video.
            where (str): Where the clip is listed.
            folder (str): The frame folder.
            video (str): The video.
        """
        if folder_count <= 0 or video_count < 0:
            return
        diff = folder_count - video_count
        if diff == 0:
            return
        message = (f'{where}: {folder} holds {folder_count} frames, '
                   f'{video} decodes {video_count}')
        if abs(diff) == 1:
            self.notes.append(message + ' (off by one, as ffmpeg '
                              'extractions can be; the folder is used)')
        else:
            self.problems.append(message)

    # ------------------------------------------------------------------
    # k-fold split files
    # ------------------------------------------------------------------
    def check_folds(
            self, splits: Dict[Tuple[int, str],
                               Dict[str, int]], folds: Sequence[int],
            list_name: str, label_text: Callable[[List[int]],
                                                 str]) -> Dict[str, Set[int]]:
        """Check the lists of a k-fold release against each other.

        A clip must carry one label in every list, no fold may list a clip
        in both its train and test lists, and (once every test list was
        read) each clip is in exactly one test list.

        Args:
            splits (dict): ``(fold, 'train'|'test')`` -> clip -> label, of
                the lists that could be read.
            folds (Sequence[int]): The folds of the release.
            list_name (str): What a list is called in messages (e.g.
                ``'split file'``).
            label_text (Callable): Sorted labels -> their text in messages.

        Returns:
            dict: Every listed clip -> the labels it was given.
        """
        labels: Dict[str, Set[int]] = defaultdict(set)
        for table in splits.values():
            for clip, label in table.items():
                labels[clip].add(label)
        for clip, seen in sorted(labels.items()):
            if len(seen) > 1:
                self.problems.append(
                    f'clip {clip} has different labels in different '
                    f'{list_name}s: {label_text(sorted(seen))}')
        for fold in folds:
            train = splits.get((fold, 'train'), {})
            test = splits.get((fold, 'test'), {})
            both = sorted(set(train) & set(test))
            if both:
                self.problems.append(
                    f'fold {fold}: {len(both)} clip(s) in both train and '
                    f'test, e.g. {", ".join(both[:5])}')
        if all((f, 'test') in splits for f in folds):
            count = Counter(c for f in folds for c in splits[(f, 'test')])
            odd = sorted(c for c in labels if count[c] != 1)
            if odd:
                self.problems.append(
                    f'{len(odd)} clip(s) are not in exactly one test '
                    f'{list_name}, e.g. {", ".join(odd[:5])}')
        return labels

    def fold_table(self, splits: Dict[Tuple[int, str], Dict[str, int]],
                   folder_of: Dict[str, str]) -> str:
        """The summary table, one row per fold and split (train first).

        Also notes the splits that lack a class.

        Args:
            splits (dict): ``(fold, 'train'|'test')`` -> clip -> label.
            folder_of (dict): Clip -> its frame folder (scanned before).

        Returns:
            str: The table.
        """
        order = ('train', 'test')
        rows = []
        for (fold, split) in sorted(
                splits, key=lambda key: (key[0], order.index(key[1]))):
            table = splits[(fold, split)]
            self.missing_classes(f'fold {fold} {split}', list(table.values()))
            rows.append([fold, split] + self.split_row(
                list(table.values()), [folder_of[c] for c in table]))
        return format_table(rows, self.header('fold', 'split'))

    # ------------------------------------------------------------------
    # summary
    # ------------------------------------------------------------------
    def split_row(self, labels: Sequence[int], folders: Sequence[str]) -> List:
        """Table cells of one split: clips, per class, frame statistics.

        Args:
            labels (Sequence[int]): Label of every listed clip.
            folders (Sequence[str]): Frame folder of every listed clip
                (scanned before).

        Returns:
            list: ``clips``, one count per class, clips shorter than
            ``clip_len``, min/median/max frames, missing and empty
            folders.
        """
        counts = Counter(labels)
        n = [self.frames.get(f, -1) for f in folders]
        good = [v for v in n if v > 0]
        return [len(labels)
                ] + [counts.get(i, 0) for i in range(len(self.classes))] + [
                    sum(1 for v in good if v < self.clip_len),
                    min(good) if good else '-',
                    int(np.median(good)) if good else '-',
                    max(good) if good else '-',
                    sum(1 for v in n if v < 0),
                    sum(1 for v in n if v == 0),
                ]

    def header(self, *first: str) -> List[str]:
        """Column names matching :meth:`split_row` after ``first``.

        Args:
            *first (str): Leading columns (e.g. ``'fold', 'split'``).

        Returns:
            list[str]: The header.
        """
        return [
            *first, 'clips', *self.classes, f'<{self.clip_len}f', 'min',
            'median', 'max', 'missing', 'empty'
        ]

    def missing_classes(self, name: str, labels: Sequence[int]) -> None:
        """Note a split that lacks a class (UAR then averages fewer).

        Args:
            name (str): The split (for the message).
            labels (Sequence[int]): Its labels.
        """
        if not labels:
            return
        absent = [c for i, c in enumerate(self.classes) if i not in labels]
        if absent:
            self.notes.append(f'{name}: no clip of class(es) ' +
                              ', '.join(absent))

    def report(self, max_problems: int = 50) -> int:
        """Print the notes and problems.

        Args:
            max_problems (int): Print at most this many problems (all are
                counted). Defaults to 50.

        Returns:
            int: 1 if there is any problem, else 0.
        """
        if self.notes:
            print(f'\n{len(self.notes)} note(s):')
            for note in self.notes[:max_problems]:
                print(f'  {note}')
            if len(self.notes) > max_problems:
                print(f'  ... and {len(self.notes) - max_problems} more')
        if self.problems:
            print(f'\n{len(self.problems)} problem(s):')
            for p in self.problems[:max_problems]:
                print(f'  {p}')
            if len(self.problems) > max_problems:
                print(f'  ... and {len(self.problems) - max_problems} more')
            return 1
        print('\nno problem found')
        return 0
