# Copyright (c) OpenMMLab. All rights reserved.
"""DFEW read as its authors ship it."""
import logging
import os.path as osp
from typing import Any, Callable, Iterable, List, Union

from mmaction.registry import DATASETS
from mmengine.logging import print_log

from .base_dfer_dataset import BaseDFERDataset
from .dfew_annotations import (DFEWRow, find_dfew_split_file,
                               is_csv_annotation, normalize_clip_id,
                               parse_dfew_csv, parse_former_dfer_list)
from .errors import DFERDataError

__all__ = ['DFEWDataset']


@DATASETS.register_module()
class DFEWDataset(BaseDFERDataset):
    """DFEW (Dynamic Facial Expression in the Wild), 5-fold protocol.

    Reads a licensed DFEW copy in its released layout::

        data_root/
          EmoLabel_DataSplit/
            train(single-labeled)/set_1.csv ... set_5.csv
            test(single-labeled)/set_1.csv  ... set_5.csv
          Clip/
            clip_224x224/00001/<frames>   # face frames, any numeric naming
            clip_224x224_16f/...          # optional pre-sampled copy
            original/00001.mp4 ...

    The split file is found automatically (``set_K.csv`` or
    ``single_{train,test}set_K.csv``); labels 1..7 become 0..6 in
    :data:`~mmstt.datasets.DFER_CLASSES` order (happy, sad, neutral, angry,
    surprise, disgust, fear). A Former-DFER list file
    (``<frame_dir> <num_frames> <label0>``) may be given as ``ann_file``
    instead; its folders are resolved as absolute paths, relative to
    ``data_root``, or by their last component (the clip id) under
    ``frame_dir``.

    Every listed clip is checked when the data set is built: a missing or
    empty frame folder (or missing/empty video) raises
    :class:`~mmstt.datasets.DFERDataError` naming the folder and the
    annotation line. Clips shorter than ``clip_len`` are kept and counted
    in the log.

    Args:
        data_root (str): Root of the DFEW copy.
        fold (int): Fold 1..5. Defaults to 1.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        pipeline (list): Transforms. Defaults to ``()``.
        ann_file (str): Annotation file overriding the split file: a DFEW
            split CSV or a Former-DFER list file (relative to
            ``data_root`` unless absolute). Defaults to ``''`` (the split
            file of ``fold``/``split``).
        media (str): ``'frames'`` reads ``frame_dir/<id>/``; ``'video'``
            reads ``video_dir/<id><video_ext>`` (decode with
            ``DFERVideoInit``/``DFERVideoDecode``). Defaults to
            ``'frames'``.
        frame_dir (str): Folder of the frame folders, relative to
            ``data_root`` unless absolute. Defaults to
            ``'Clip/clip_224x224'``.
        video_dir (str): Folder of the original videos. Defaults to
            ``'Clip/original'``.
        video_ext (str): Video extension. Defaults to ``'.mp4'``.
        **kwargs: See :class:`~mmstt.datasets.BaseDFERDataset`
            (``clip_len``, ``on_bad_clip``, ``test_mode`` ...).
    """

    def __init__(self,
                 data_root: str,
                 fold: int = 1,
                 split: str = 'train',
                 pipeline: Iterable[Union[dict, Callable]] = (),
                 ann_file: str = '',
                 media: str = 'frames',
                 frame_dir: str = 'Clip/clip_224x224',
                 video_dir: str = 'Clip/original',
                 video_ext: str = '.mp4',
                 **kwargs: Any) -> None:
        if int(fold) != fold or not 1 <= fold <= 5:
            raise ValueError(f'fold must be 1..5, got {fold!r}')
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.fold = int(fold)
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
        """The annotation file in use (``ann_file`` or the split file)."""
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise DFERDataError(
                    f'DFEW annotation file {self.ann_file} does not exist')
            return self.ann_file
        return find_dfew_split_file(self.data_root, self.fold, self.split)

    def _video_path(self, clip: str) -> str:
        """Path of clip ``clip``'s video (padded or unpadded file name)."""
        video_root = self._get_optional(self.video_dir, 'Clip/original')
        names = [clip]
        if clip.isdigit():
            names.append(str(int(clip)))
        for name in names:
            path = osp.join(video_root, name + self.video_ext)
            if osp.isfile(path):
                return path
        return osp.join(video_root, clip + self.video_ext)

    def _resolve_list_dir(self, row: DFEWRow, source: str) -> str:
        """Frame folder of a Former-DFER list row."""
        frame_root = self._get_optional(self.frame_dir, 'Clip/clip_224x224')
        written = row.clip.rstrip('/\\')
        candidates = []
        if osp.isabs(written):
            candidates.append(written)
        else:
            candidates.append(osp.join(self.data_root, written))
        candidates.append(
            osp.join(frame_root, normalize_clip_id(osp.basename(written))))
        for path in candidates:
            if osp.isdir(path):
                return path
        raise DFERDataError(
            f'{source}: frame folder {written!r} not found; tried ' +
            ', '.join(candidates))

    def load_data_list(self) -> List[dict]:
        """Parse the annotation file and check every clip.

        Returns:
            list[dict]: One record per clip (see
            :class:`~mmstt.datasets.BaseDFERDataset`).
        """
        ann = self._annotation_file()
        list_file = not is_csv_annotation(ann)
        rows = parse_former_dfer_list(ann) if list_file else parse_dfew_csv(
            ann)
        frame_root = self._get_optional(self.frame_dir, 'Clip/clip_224x224')
        data_list = []
        mismatched = []
        for row in self._progress(rows, f'checking DFEW {self.split}'):
            source = f'{ann}:{row.line}'
            if list_file:
                clip = normalize_clip_id(osp.basename(row.clip.rstrip('/')))
            else:
                clip = row.clip
            if self.media == 'video':
                info = self.video_record(
                    self._video_path(clip), row.label, clip, source)
            else:
                folder = (
                    self._resolve_list_dir(row, source)
                    if list_file else osp.join(frame_root, clip))
                info = self.frame_record(folder, row.label, clip, source)
                if list_file and row.num_frames != info['total_frames']:
                    mismatched.append(f'{source} ({row.num_frames} listed, '
                                      f"{info['total_frames']} on disk)")
            data_list.append(info)
        if mismatched:
            print_log(
                f'{len(mismatched)} clip(s) of {ann} list a frame count '
                'that differs from the folder (the folder is used): ' +
                '; '.join(mismatched[:10]) +
                (' ...' if len(mismatched) > 10 else ''),
                logger='current',
                level=logging.WARNING)
        self.log_summary(data_list,
                         f'DFEW fold {self.fold} {self.split} ({ann})')
        return data_list
