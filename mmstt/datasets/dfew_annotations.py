# Copyright (c) OpenMMLab. All rights reserved.
"""Reading DFEW's annotation files as the authors ship them.

* split files ``EmoLabel_DataSplit/{train,test}(single-labeled)/set_K.csv``
  (the official repository also names them ``single_trainset_K.csv`` /
  ``single_testset_K.csv``): header ``video_name,label``, one clip per row,
  labels 1..7 (happy, sad, neutral, angry, surprise, disgust, fear);
* Former-DFER list files: ``<frame_dir> <num_frames> <label0>`` per line,
  labels already 0-based in the same order.

Every problem is reported with the file and line. Files are decoded by
:func:`~mmstt.datasets.annotation_text.read_annotation_text` (UTF-8 with
or without BOM, UTF-16 with BOM; other encodings are refused by name).
"""
import csv
import os.path as osp
from typing import List, NamedTuple, Optional

from .annotation_text import AnnotationText, read_annotation_text
from .dfer_classes import DFER_CLASSES
from .errors import DFERDataError

__all__ = [
    'DFEWRow', 'normalize_clip_id', 'dfew_split_file_candidates',
    'find_dfew_split_file', 'parse_dfew_csv', 'parse_former_dfer_list',
    'is_csv_annotation'
]

NUM_CLASSES = len(DFER_CLASSES)


class DFEWRow(NamedTuple):
    """One annotated clip.

    Attributes:
        clip (str): Clip id (5-digit zero-padded for numeric DFEW ids) or,
            for list files, the frame folder as written in the file.
        label (int): Label 0..6 (index into ``DFER_CLASSES``).
        line (int): 1-based line number in the annotation file.
        num_frames (int): Frame count given by a list file, -1 for CSVs.
    """
    clip: str
    label: int
    line: int
    num_frames: int = -1


def normalize_clip_id(name: str) -> str:
    """Normalise a DFEW clip id to its on-disk folder name.

    Args:
        name (str): ``'1'``, ``'00001'`` or ``'00001.mp4'``.

    Returns:
        str: ``'00001'`` for numeric ids, the stripped name otherwise.
    """
    name = name.strip()
    stem, ext = osp.splitext(name)
    if ext.lower() in ('.mp4', '.avi'):
        name = stem
    if name.isdigit():
        return f'{int(name):05d}'
    return name


def dfew_split_file_candidates(data_root: str, fold: int,
                               split: str) -> List[str]:
    """All paths where the split file of ``fold`` / ``split`` may lie.

    Args:
        data_root (str): Root of the DFEW copy.
        fold (int): Fold 1..5.
        split (str): ``'train'`` or ``'test'``.

    Returns:
        list[str]: Candidate paths, most common naming first.
    """
    base = osp.join(data_root, 'EmoLabel_DataSplit')
    folder = osp.join(base, f'{split}(single-labeled)')
    names = [f'set_{fold}.csv', f'single_{split}set_{fold}.csv']
    return ([osp.join(folder, n)
             for n in names] + [osp.join(base, n) for n in names[1:]])


def find_dfew_split_file(data_root: str, fold: int, split: str) -> str:
    """Locate the split file of ``fold`` / ``split``.

    Args:
        data_root (str): Root of the DFEW copy.
        fold (int): Fold 1..5.
        split (str): ``'train'`` or ``'test'``.

    Returns:
        str: The first existing candidate path.

    Raises:
        DFERDataError: If none exists; the message lists the paths tried.
    """
    candidates = dfew_split_file_candidates(data_root, fold, split)
    for path in candidates:
        if osp.isfile(path):
            return path
    raise DFERDataError(
        f'DFEW {split} split file of fold {fold} not found; tried: ' +
        ', '.join(candidates))


def is_csv_annotation(path: str) -> bool:
    """Tell a DFEW split CSV from a Former-DFER list file by extension.

    Args:
        path (str): Annotation file.

    Returns:
        bool: ``True`` for ``.csv`` files.
    """
    return path.lower().endswith('.csv')


def _fail(errors: Optional[List[str]], message: str) -> None:
    """Raise ``message`` or, when collecting, append it to ``errors``."""
    if errors is None:
        raise DFERDataError(message)
    errors.append(message)


def _read(path: str, errors: Optional[List[str]]) -> Optional[AnnotationText]:
    """Decode ``path``; on failure raise or collect and return ``None``."""
    try:
        return read_annotation_text(path)
    except DFERDataError as err:
        _fail(errors, str(err))
        return None


def parse_dfew_csv(path: str,
                   errors: Optional[List[str]] = None) -> List[DFEWRow]:
    """Parse a DFEW split file.

    Args:
        path (str): The CSV file (header ``video_name,label``; the columns
            may come in any order and extra columns are ignored).
        errors (list, optional): When given, problems are appended to it
            as messages and the bad rows skipped; otherwise the first
            problem raises. Defaults to None.

    Returns:
        list[DFEWRow]: Rows with 0-based labels and normalised clip ids.

    Raises:
        DFERDataError: Missing file, undecodable file, no clip listed
            (empty or header only: "no clips listed in FILE"), missing
            header, malformed row, label outside 1..7 or duplicated clip id
            (``path:line``).
    """
    text = _read(path, errors)
    if text is None:
        return []
    numbered = [(i + 1, row) for i, row in enumerate(csv.reader(text.lines))
                if any(cell.strip() for cell in row)]
    if not numbered:
        _fail(errors, f'no clips listed in {path} (the file is empty)')
        return []
    header_line, header = numbered[0]
    names = [cell.strip().lower() for cell in header]
    if 'video_name' not in names or 'label' not in names:
        _fail(
            errors, f'{path}:{header_line}: expected the header '
            f'"video_name,label", got {",".join(header)!r}')
        return []
    name_col, label_col = names.index('video_name'), names.index('label')
    rows: List[DFEWRow] = []
    seen = {}
    for line_no, row in numbered[1:]:
        where = f'{path}:{line_no}'
        if len(row) < len(names):
            _fail(
                errors, f'{where}: malformed row {",".join(row)!r} '
                f'(expected {len(names)} fields)')
            continue
        clip = normalize_clip_id(row[name_col])
        label_str = row[label_col].strip()
        if not clip:
            _fail(errors, f'{where}: empty video_name')
            continue
        try:
            label = int(label_str)
        except ValueError:
            _fail(errors, f'{where}: label {label_str!r} is not an integer')
            continue
        if not 1 <= label <= NUM_CLASSES:
            _fail(
                errors, f'{where}: label {label} outside 1..{NUM_CLASSES} '
                f'(clip {clip})')
            continue
        if clip in seen:
            _fail(
                errors, f'{where}: clip {clip} listed twice (first on '
                f'line {seen[clip]})')
            continue
        seen[clip] = line_no
        rows.append(DFEWRow(clip, label - 1, line_no))
    if len(numbered) == 1:
        _fail(
            errors, f'no clips listed in {path} (only the header on line '
            f'{header_line})')
    return rows


def parse_former_dfer_list(path: str,
                           errors: Optional[List[str]] = None
                           ) -> List[DFEWRow]:
    """Parse a Former-DFER list file (``<frame_dir> <num_frames> <label0>``).

    Args:
        path (str): The list file. The folder may contain spaces; the last
            two fields are the frame count and the 0-based label.
        errors (list, optional): Collect problems instead of raising.
            Defaults to ``None``.

    Returns:
        list[DFEWRow]: Rows whose ``clip`` is the frame folder as written.

    Raises:
        DFERDataError: Missing/empty file, malformed line, negative frame
            count or label outside 0..6 (``path:line``).
    """
    text = _read(path, errors)
    if text is None:
        return []
    rows: List[DFEWRow] = []
    num_lines = 0
    for line_no, line in enumerate(text.lines, start=1):
        if not line.strip():
            continue
        num_lines += 1
        where = f'{path}:{line_no}'
        fields = line.strip().rsplit(maxsplit=2)
        if len(fields) != 3:
            _fail(
                errors, f'{where}: malformed line {line.strip()!r} '
                '(expected "<frame_dir> <num_frames> <label>")')
            continue
        frame_dir, count_str, label_str = fields
        try:
            count, label = int(count_str), int(label_str)
        except ValueError:
            _fail(
                errors, f'{where}: frame count and label must be '
                f'integers in {line.strip()!r}')
            continue
        if count < 0:
            _fail(errors, f'{where}: negative frame count {count}')
            continue
        if not 0 <= label < NUM_CLASSES:
            _fail(errors, f'{where}: label {label} outside '
                  f'0..{NUM_CLASSES - 1}')
            continue
        rows.append(DFEWRow(frame_dir, label, line_no, count))
    if num_lines == 0:
        _fail(errors, f'no clips listed in {path} (the file is empty)')
    return rows
