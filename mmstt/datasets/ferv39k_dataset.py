# Copyright (c) OpenMMLab. All rights reserved.
"""FERV39k read as its authors ship it."""
import logging
import os.path as osp
from typing import Any, Callable, Iterable, List, Optional, Union

from mmaction.registry import DATASETS
from mmengine.logging import print_log

from .base_dfer_dataset import BaseDFERDataset
from .dfer_classes import DFER_CLASSES
from .errors import DFERDataError
from .released_lists import ferv39k_split_file, parse_ferv39k_list

__all__ = ['FERV39kDataset']


@DATASETS.register_module()
class FERV39kDataset(BaseDFERDataset):
    """FERV39k: 38,935 clips from 22 scenes, one train/test split.

    Reads a licensed FERV39k copy in its released layout::

        data_root/
          2_ClipsforFaceCrop/<Scene>/<Emotion>/<NNNN>/<frames>
          4_setups/All_scenes/train_All.csv
          4_setups/All_scenes/test_All.csv

    A list line is ``Action/Sad/0010 Sad`` (no header, LF or CRLF). The
    emotion is mapped by name to the project order
    (:data:`~mmstt.datasets.DFER_CLASSES`: happy, sad, neutral, angry,
    surprise, disgust, fear), so a DFEW checkpoint's outputs mean the same
    classes. Clip ids restart in every scene/emotion folder, so the clip
    key (``clip_id``) is the whole ``Scene/Emotion/NNNN`` path, and every
    record carries its ``scene`` for per-scene results. Frame files are
    sorted numerically whatever their names and counted on disk.

    Every listed clip is checked when the data set is built: a missing or
    empty frame folder raises :class:`~mmstt.datasets.DFERDataError`
    naming the folder and the list line. A list line whose path names
    another emotion folder than its label is used with the listed label
    and reported in the log.

    Args:
        data_root (str): Root of the FERV39k copy.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        pipeline (list): Transforms. Defaults to ``()``.
        ann_file (str): List overriding the official one (same format;
            relative to ``data_root`` unless absolute). Defaults to ``''``
            (``4_setups/All_scenes/<split>_All.csv``).
        media (str): ``'frames'`` reads ``frame_dir/<Scene>/<Emotion>/
            <NNNN>/``; ``'video'`` reads ``video_dir/<Scene>/<Emotion>/
            <NNNN><video_ext>``. Defaults to ``'frames'``.
        frame_dir (str): Folder of the face-frame tree, relative to
            ``data_root`` unless absolute. Defaults to
            ``'2_ClipsforFaceCrop'``.
        video_dir (str, optional): Folder of a video tree with the same
            layout; required for ``media='video'``. Defaults to ``None``.
        video_ext (str): Video extension. Defaults to ``'.mp4'``.
        **kwargs: See :class:`~mmstt.datasets.BaseDFERDataset`
            (``clip_len``, ``on_bad_clip``, ``test_mode`` ...).
    """

    METAINFO = dict(classes=DFER_CLASSES)

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 pipeline: Iterable[Union[dict, Callable]] = (),
                 ann_file: str = '',
                 media: str = 'frames',
                 frame_dir: str = '2_ClipsforFaceCrop',
                 video_dir: Optional[str] = None,
                 video_ext: str = '.mp4',
                 **kwargs: Any) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if media == 'video' and not video_dir:
            raise ValueError(
                "FERV39kDataset with media='video' needs video_dir (the "
                'folder holding <Scene>/<Emotion>/<NNNN><video_ext>)')
        self.split = split
        self.frame_dir = frame_dir
        self.video_dir = video_dir
        self.video_ext = video_ext
        super().__init__(
            ann_file=ann_file,
            pipeline=pipeline,
            data_root=data_root,
            media=media,
            **kwargs)

    def _annotation_file(self) -> str:
        """The list in use (``ann_file`` or the official split list)."""
        if self.ann_file:
            path = self.ann_file
        else:
            path = ferv39k_split_file(self.data_root, self.split)
        if not osp.isfile(path):
            raise DFERDataError(
                f'FERV39k {self.split} list {path} does not exist')
        return path

    def load_data_list(self) -> List[dict]:
        """Parse the list and check every clip.

        Returns:
            list[dict]: One record per clip (see
            :class:`~mmstt.datasets.BaseDFERDataset`) with ``scene``.
        """
        ann = self._annotation_file()
        rows = parse_ferv39k_list(ann)
        frame_root = self._get_optional(self.frame_dir, '2_ClipsforFaceCrop')
        data_list, disagree = [], []
        for row in self._progress(rows, f'checking FERV39k {self.split}'):
            source = f'{ann}:{row.line}'
            parts = row.clip.split('/')
            if self.media == 'video':
                video_root = self._get_optional(self.video_dir, '')
                info = self.video_record(
                    osp.join(video_root, *parts) + self.video_ext, row.label,
                    row.clip, source)
            else:
                info = self.frame_record(
                    osp.join(frame_root, *parts), row.label, row.clip, source)
            info['scene'] = row.scene
            if row.folder_label != row.label:
                disagree.append(source)
            data_list.append(info)
        if disagree:
            print_log(
                f'{len(disagree)} line(s) of {ann} give a label that differs '
                "from the path's emotion folder (the listed label is used): " +
                ', '.join(disagree[:10]) +
                (' ...' if len(disagree) > 10 else ''),
                logger='current',
                level=logging.WARNING)
        self.log_summary(data_list, f'FERV39k {self.split} ({ann})')
        return data_list
