# Copyright (c) OpenMMLab. All rights reserved.
"""Reading the split lists of FERV39k and MAFW as their authors ship them.

* FERV39k: ``4_setups/All_scenes/{train,test}_All.csv``, one clip per
  line, no header: ``Action/Sad/0010 Sad`` (the clip's path under
  ``2_ClipsforFaceCrop``, one space, the emotion spelled ``Angry Disgust
  Fear Happy Neutral Sad Surprise``), LF or CRLF;
* MAFW: ``Train & Test Set/single/no_caption/set_K/{train,test}.txt``,
  ``00025.mp4 anger`` per line (file, one space, one of the 11 labels),
  CRLF.

Labels are mapped by name to the project order
(:data:`~mmstt.datasets.DFER_CLASSES`, and
:data:`~mmstt.datasets.MAFW_CLASSES` for MAFW). Every problem names the
file and line. MAFW's caption and compound lists are a different task and
are refused with an explanation.
"""
import os.path as osp
from typing import List, NamedTuple, Optional

from .annotation_text import read_annotation_text
from .dfer_classes import CLASS_FOLDER_ALIASES, MAFW_LABELS
from .errors import DFERDataError

__all__ = [
    'ListRow', 'FERV39K_SPLIT_DIR', 'MAFW_SPLIT_DIR', 'ferv39k_split_file',
    'mafw_split_file', 'parse_ferv39k_list', 'parse_mafw_list'
]

#: Folder of FERV39k's official all-scene split lists.
FERV39K_SPLIT_DIR = osp.join('4_setups', 'All_scenes')
#: Folder of MAFW's single-label, no-caption fold lists.
MAFW_SPLIT_DIR = osp.join('Train & Test Set', 'single', 'no_caption')

#: FERV39k emotion spellings (lower case) accepted in lists.
_FERV39K_EMOTIONS = ('angry', 'disgust', 'fear', 'happy', 'neutral', 'sad',
                     'surprise')


class ListRow(NamedTuple):
    """One clip of a split list.

    Attributes:
        clip (str): Clip key: FERV39k's whole ``Scene/Emotion/NNNN`` path,
            MAFW's file stem (``'00025'``).
        label (int): Label in the project order.
        line (int): 1-based line number in the list.
        scene (str): FERV39k scene (first path component); ``''`` for
            MAFW.
        folder_label (int): FERV39k: the label named by the path's emotion
            folder (-1 when it names none); MAFW: -1.
        filename (str): The file as listed (MAFW ``'00025.mp4'``), or the
            path as listed (FERV39k).
    """
    clip: str
    label: int
    line: int
    scene: str = ''
    folder_label: int = -1
    filename: str = ''


def ferv39k_split_file(data_root: str, split: str) -> str:
    """Path of FERV39k's official list of ``split``.

    Args:
        data_root (str): Root of the FERV39k copy.
        split (str): ``'train'`` or ``'test'``.

    Returns:
        str: ``data_root/4_setups/All_scenes/<split>_All.csv``.
    """
    if split not in ('train', 'test'):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return osp.join(data_root, FERV39K_SPLIT_DIR, f'{split}_All.csv')


def mafw_split_file(data_root: str, fold: int, split: str) -> str:
    """Path of MAFW's single-label fold list.

    Args:
        data_root (str): Root of the MAFW copy.
        fold (int): Fold 1..5.
        split (str): ``'train'`` or ``'test'``.

    Returns:
        str: ``data_root/Train & Test Set/single/no_caption/set_K/
        <split>.txt``.
    """
    if split not in ('train', 'test'):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if int(fold) != fold or not 1 <= fold <= 5:
        raise ValueError(f'fold must be 1..5, got {fold!r}')
    return osp.join(data_root, MAFW_SPLIT_DIR, f'set_{int(fold)}',
                    f'{split}.txt')


def _fail(errors: Optional[List[str]], message: str) -> None:
    """Raise ``message`` or, when collecting, append it to ``errors``."""
    if errors is None:
        raise DFERDataError(message)
    errors.append(message)


def _lines(path: str, errors: Optional[List[str]]) -> Optional[list]:
    """Numbered non-blank lines of ``path`` (``None`` when unreadable)."""
    try:
        text = read_annotation_text(path)
    except DFERDataError as err:
        _fail(errors, str(err))
        return None
    numbered = [(i + 1, line.strip()) for i, line in enumerate(text.lines)
                if line.strip()]
    if not numbered:
        _fail(errors, f'no clips listed in {path} (the file is empty)')
        return None
    return numbered


def parse_ferv39k_list(path: str,
                       errors: Optional[List[str]] = None) -> List[ListRow]:
    """Parse a FERV39k split list (``Scene/Emotion/NNNN Emotion`` lines).

    Args:
        path (str): The list (``train_All.csv`` / ``test_All.csv``).
        errors (list, optional): When given, problems are appended to it
            and the bad lines skipped; otherwise the first problem raises.
            Defaults to ``None``.

    Returns:
        list[ListRow]: Rows with project-order labels, the whole path as
        clip key and the scene.

    Raises:
        DFERDataError: Missing, undecodable or empty file, malformed line,
            unknown emotion or a clip listed twice (``path:line``).
    """
    numbered = _lines(path, errors)
    if numbered is None:
        return []
    rows: List[ListRow] = []
    seen = {}
    for line_no, line in numbered:
        where = f'{path}:{line_no}'
        fields = line.rsplit(maxsplit=1)
        if len(fields) != 2:
            _fail(
                errors, f'{where}: malformed line {line!r} (expected '
                '"Scene/Emotion/NNNN Emotion")')
            continue
        written, emotion = fields
        clip = written.strip().replace('\\', '/').strip('/')
        parts = clip.split('/')
        if len(parts) != 3 or not all(parts):
            _fail(
                errors, f'{where}: clip path {written!r} is not '
                '"Scene/Emotion/NNNN"')
            continue
        if emotion.lower() not in _FERV39K_EMOTIONS:
            _fail(
                errors, f'{where}: unknown emotion {emotion!r}; expected '
                'one of Angry Disgust Fear Happy Neutral Sad Surprise')
            continue
        if clip in seen:
            _fail(
                errors, f'{where}: clip {clip} listed twice (first on line '
                f'{seen[clip]})')
            continue
        seen[clip] = line_no
        rows.append(
            ListRow(
                clip=clip,
                label=CLASS_FOLDER_ALIASES[emotion.lower()],
                line=line_no,
                scene=parts[0],
                folder_label=CLASS_FOLDER_ALIASES.get(parts[1].lower(), -1),
                filename=written))
    return rows


def _refuse_other_mafw_task(path: str) -> None:
    """Refuse MAFW's caption and compound lists by their location."""
    norm = path.replace('\\', '/').lower()
    for what, task in (('with_caption', 'caption'), ('compound',
                                                     'compound-label')):
        if f'/{what}/' in norm or norm.startswith(f'{what}/'):
            raise DFERDataError(
                f'{path} is one of MAFW\'s {task} lists; MAFWDataset reads '
                'the 11-class single-label task from "Train & Test Set/'
                'single/no_caption/set_K/{train,test}.txt". The caption '
                'lists leave neutral out and the compound lists use 43 '
                'label combinations: neither is the 11-class task')


def parse_mafw_list(path: str,
                    errors: Optional[List[str]] = None) -> List[ListRow]:
    """Parse a MAFW single-label fold list (``00025.mp4 anger`` lines).

    Args:
        path (str): The list (``set_K/train.txt`` or ``set_K/test.txt``).
        errors (list, optional): When given, problems are appended to it
            and the bad lines skipped; otherwise the first problem raises.
            Defaults to ``None``.

    Returns:
        list[ListRow]: Rows with labels 0..10
        (:data:`~mmstt.datasets.MAFW_CLASSES` order) and the file stem as
        clip key.

    Raises:
        DFERDataError: A caption or compound list (by folder, by its tab
            separated columns or by a compound label), a missing,
            undecodable or empty file, a malformed line, an unknown label
            or a clip listed twice (``path:line``).
    """
    try:
        _refuse_other_mafw_task(path)
    except DFERDataError as err:
        _fail(errors, str(err))
        return []
    numbered = _lines(path, errors)
    if numbered is None:
        return []
    rows: List[ListRow] = []
    seen = {}
    for line_no, line in numbered:
        where = f'{path}:{line_no}'
        if '\t' in line:
            _fail(
                errors, f'{where}: tab-separated columns, as in MAFW\'s '
                'with_caption lists; the 11-class single-label task is read '
                'from the no_caption lists ("00025.mp4 anger")')
            return rows
        fields = line.split()
        if len(fields) != 2:
            _fail(
                errors, f'{where}: malformed line {line!r} (expected '
                '"00025.mp4 <label>")')
            continue
        filename, label_str = fields
        label_key = label_str.lower()
        if '_' in label_key and label_key not in MAFW_LABELS:
            _fail(
                errors, f'{where}: compound label {label_str!r}; MAFW\'s '
                'compound lists are not the 11-class single-label task')
            continue
        if label_key not in MAFW_LABELS:
            _fail(
                errors, f'{where}: unknown label {label_str!r}; expected '
                'one of ' + ' '.join(MAFW_LABELS))
            continue
        clip = osp.splitext(filename)[0]
        if clip in seen:
            _fail(
                errors, f'{where}: clip {clip} listed twice (first on line '
                f'{seen[clip]})')
            continue
        seen[clip] = line_no
        rows.append(
            ListRow(
                clip=clip,
                label=MAFW_LABELS[label_key],
                line=line_no,
                filename=filename))
    return rows
