# Copyright (c) OpenMMLab. All rights reserved.
"""MAFW (single-label, 11 classes, 5 folds) read as its authors ship it."""
import os.path as osp
from typing import Any, Callable, Iterable, List, Union

from mmaction.registry import DATASETS

from .base_dfer_dataset import BaseDFERDataset
from .dfer_classes import MAFW_CLASSES
from .errors import DFERDataError
from .released_lists import mafw_split_file, parse_mafw_list

__all__ = ['MAFWDataset']


@DATASETS.register_module()
class MAFWDataset(BaseDFERDataset):
    """MAFW, the 11-class single-label 5-fold protocol.

    Reads a licensed MAFW copy in its released layout::

        data_root/
          data/clips/00025.mp4 ...
          data/frames/00025/<frames>     # face frames; the folder name
                                         # differs between copies
          Train & Test Set/single/no_caption/set_K/{train,test}.txt

    A fold-list line is ``00025.mp4 anger`` (CRLF, no header). The labels
    are mapped by name to :data:`~mmstt.datasets.MAFW_CLASSES`: DFEW's
    seven (happy, sad, neutral, angry, surprise, disgust, fear), then
    contempt, anxiety, helplessness, disappointment, so the first seven
    outputs of a DFEW checkpoint line up. Frames may be named ``0.jpg ...
    N.jpg`` or ``00001.jpg ...``, .jpg or .png; they are sorted numerically
    and counted on disk (an ffmpeg extraction can hold one frame more or
    fewer than third-party lists say). MAFW's caption and compound lists
    are other tasks and are refused with an explanation.

    Every listed clip is checked when the data set is built: a missing or
    empty frame folder (or video) raises
    :class:`~mmstt.datasets.DFERDataError` naming it and the list line.

    Args:
        data_root (str): Root of the MAFW copy.
        fold (int): Fold 1..5. Defaults to 1.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        pipeline (list): Transforms. Defaults to ``()``.
        ann_file (str): Fold list overriding the official one (same
            format; relative to ``data_root`` unless absolute). Defaults to
            ``''`` (``Train & Test Set/single/no_caption/set_K/
            <split>.txt``).
        media (str): ``'frames'`` reads ``frame_dir/<id>/``; ``'video'``
            reads ``video_dir/<file as listed>``. Defaults to ``'frames'``.
        frame_dir (str): Folder of the per-clip frame folders, relative to
            ``data_root`` unless absolute (other copies use
            ``data/faces``, ``data/frames/frames`` or
            ``data/frames/frames_crop_align_224``). Defaults to
            ``'data/frames'``.
        video_dir (str): Folder of the videos. Defaults to
            ``'data/clips'``.
        **kwargs: See :class:`~mmstt.datasets.BaseDFERDataset`
            (``clip_len``, ``on_bad_clip``, ``test_mode`` ...).
    """

    METAINFO = dict(classes=MAFW_CLASSES)

    def __init__(self,
                 data_root: str,
                 fold: int = 1,
                 split: str = 'train',
                 pipeline: Iterable[Union[dict, Callable]] = (),
                 ann_file: str = '',
                 media: str = 'frames',
                 frame_dir: str = 'data/frames',
                 video_dir: str = 'data/clips',
                 **kwargs: Any) -> None:
        if int(fold) != fold or not 1 <= fold <= 5:
            raise ValueError(f'fold must be 1..5, got {fold!r}')
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.fold = int(fold)
        self.split = split
        self.frame_dir = frame_dir
        self.video_dir = video_dir
        super().__init__(
            ann_file=ann_file,
            pipeline=pipeline,
            data_root=data_root,
            media=media,
            **kwargs)

    def _annotation_file(self) -> str:
        """The list in use (``ann_file`` or the official fold list)."""
        if self.ann_file:
            path = self.ann_file
        else:
            path = mafw_split_file(self.data_root, self.fold, self.split)
        if not osp.isfile(path):
            raise DFERDataError(f'MAFW fold {self.fold} {self.split} list '
                                f'{path} does not exist')
        return path

    @staticmethod
    def clip_folder(frame_root: str, clip: str) -> str:
        """Frame folder of ``clip`` (``00025`` or, unpadded, ``25``).

        Args:
            frame_root (str): Folder of the per-clip frame folders.
            clip (str): Clip id as listed (file stem).

        Returns:
            str: The existing folder, else the padded name.
        """
        names = [clip]
        if clip.isdigit():
            names.append(str(int(clip)))
        for name in names:
            path = osp.join(frame_root, name)
            if osp.isdir(path):
                return path
        return osp.join(frame_root, clip)

    def load_data_list(self) -> List[dict]:
        """Parse the fold list and check every clip.

        Returns:
            list[dict]: One record per clip (see
            :class:`~mmstt.datasets.BaseDFERDataset`).
        """
        ann = self._annotation_file()
        rows = parse_mafw_list(ann)
        frame_root = self._get_optional(self.frame_dir, 'data/frames')
        video_root = self._get_optional(self.video_dir, 'data/clips')
        data_list = []
        for row in self._progress(rows, f'checking MAFW {self.split}'):
            source = f'{ann}:{row.line}'
            if self.media == 'video':
                info = self.video_record(
                    osp.join(video_root, row.filename), row.label, row.clip,
                    source)
            else:
                info = self.frame_record(
                    self.clip_folder(frame_root, row.clip), row.label,
                    row.clip, source)
            data_list.append(info)
        self.log_summary(data_list,
                         f'MAFW fold {self.fold} {self.split} ({ann})')
        return data_list
