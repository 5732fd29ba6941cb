# Copyright (c) OpenMMLab. All rights reserved.
"""AFEW 7.0 (EmotiW) read as released, or as face-frame folders."""
import logging
import os
import os.path as osp
from typing import Any, Callable, Iterable, List, Optional, Sequence, Union

from mmaction.registry import DATASETS
from mmengine.logging import print_log

from .base_dfer_dataset import BaseDFERDataset
from .dfer_classes import class_index_from_folder
from .errors import DFERDataError
from .frame_folder import VIDEO_EXTENSIONS

__all__ = ['AFEWDataset']

#: Split folder names tried in order when ``split_dir`` is not given.
AFEW_SPLIT_DIRS = {
    'train': ('Train_AFEW', 'Train', 'train'),
    'val': ('Val_AFEW', 'Val', 'val'),
}


@DATASETS.register_module()
class AFEWDataset(BaseDFERDataset):
    """AFEW 7.0: videos (or face-frame folders) sorted into class folders.

    Layout, as released (``media='video'``)::

        data_root/Train_AFEW/{Angry,Disgust,Fear,Happy,Neutral,Sad,
                              Surprise}/*.avi
        data_root/Val_AFEW/{...same...}/*.avi

    or the same tree with one folder of face frames per video
    (``media='frames'``), e.g. the output of
    ``tools/data/afew/extract_faces.py``. Class folders may also use
    Former-DFER's names (Happiness, Sadness, Anger ...), and the split
    folders may be named ``Train``/``Val``. Labels follow the DFEW order
    (:data:`~mmstt.datasets.DFER_CLASSES`) so that a DFEW checkpoint
    fine-tunes without remapping.

    An unknown class folder, an empty clip folder or an empty video file
    raises :class:`~mmstt.datasets.DFERDataError` naming it when the data
    set is built. AFEW's test labels are unreleased: ``'val'`` is the
    evaluation split.

    Args:
        data_root (str): Root of the AFEW copy (or of its face frames).
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        pipeline (list): Transforms. Defaults to ``()``.
        media (str): ``'video'`` or ``'frames'``. Defaults to ``'video'``.
        split_dir (str, optional): Split folder relative to ``data_root``.
            Defaults to the first existing of ``Train_AFEW``/``Train``/
            ``train`` (``Val_AFEW``/``Val``/``val`` for ``'val'``).
        video_exts (Sequence[str]): Extensions read as videos. Defaults to
            the common video extensions (``.avi``, ``.mp4`` ...).
        **kwargs: See :class:`~mmstt.datasets.BaseDFERDataset`
            (``clip_len``, ``on_bad_clip``, ``test_mode`` ...).
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 pipeline: Iterable[Union[dict, Callable]] = (),
                 media: str = 'video',
                 split_dir: Optional[str] = None,
                 video_exts: Sequence[str] = VIDEO_EXTENSIONS,
                 **kwargs: Any) -> None:
        if split not in AFEW_SPLIT_DIRS:
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        self.split = split
        self.split_dir = split_dir
        self.video_exts = tuple(e.lower() for e in video_exts)
        kwargs.setdefault('ann_file', '')
        super().__init__(
            pipeline=pipeline, data_root=data_root, media=media, **kwargs)

    def _split_root(self) -> str:
        """The split folder (``Train_AFEW`` ...)."""
        names = ((self.split_dir, ) if self.split_dir is not None else
                 AFEW_SPLIT_DIRS[self.split])
        tried = []
        for name in names:
            path = osp.join(self.data_root, name)
            if osp.isdir(path):
                return path
            tried.append(path)
        raise DFERDataError(f'AFEW {self.split} folder not found; tried ' +
                            ', '.join(tried))

    def _class_clips(self, class_dir: str, label: int) -> List[dict]:
        """Records of the clips in one class folder."""
        records, ignored = [], []
        with os.scandir(class_dir) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            if entry.name.startswith('.'):
                continue
            stem, ext = osp.splitext(entry.name)
            if self.media == 'frames':
                stem = entry.name
            clip_id = f'{osp.basename(class_dir)}/{stem}'
            if self.media == 'video':
                if entry.is_file() and ext.lower() in self.video_exts:
                    records.append(
                        self.video_record(entry.path, label, clip_id,
                                          class_dir))
                else:
                    ignored.append(entry.name)
            elif entry.is_dir():
                records.append(
                    self.frame_record(entry.path, label, clip_id, class_dir))
            else:
                ignored.append(entry.name)
        if ignored:
            if self.media == 'video':
                wanted, hint = 'videos', "media='frames' reads frame folders"
            else:
                wanted, hint = 'frame folders', "media='video' reads videos"
            entries_word = 'entry' if len(ignored) == 1 else 'entries'
            shown = ', '.join(
                ignored[:5]) + (' ...' if len(ignored) > 5 else '')
            print_log(
                f'{class_dir}: ignored {len(ignored)} {entries_word} that '
                f'are not {wanted} ({hint}): {shown}',
                logger='current',
                level=logging.WARNING)
        return records

    def load_data_list(self) -> List[dict]:
        """Walk the split folder and check every clip.

        Returns:
            list[dict]: One record per clip (see
            :class:`~mmstt.datasets.BaseDFERDataset`).
        """
        split_root = self._split_root()
        data_list = []
        with os.scandir(split_root) as it:
            class_dirs = sorted(
                (e for e in it if e.is_dir() and not e.name.startswith('.')),
                key=lambda e: e.name)
        if not class_dirs:
            raise DFERDataError(f'{split_root} holds no class folder')
        for entry in class_dirs:
            try:
                label = class_index_from_folder(entry.name)
            except KeyError as err:
                raise DFERDataError(
                    f'unknown class folder {entry.path}: {err.args[0]}'
                ) from None
            data_list.extend(self._class_clips(entry.path, label))
        if not data_list:
            raise DFERDataError(
                f'{split_root} holds no clip ('
                f"{'videos' if self.media == 'video' else 'frame folders'}"
                f" expected, media={self.media!r})")
        self.log_summary(data_list, f'AFEW {self.split} ({split_root})')
        return data_list
