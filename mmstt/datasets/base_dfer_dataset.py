# Copyright (c) OpenMMLab. All rights reserved.
"""Common behaviour of the DFER data sets (DFEW, AFEW, FERV39k, MAFW)."""
import logging
import os.path as osp
from collections import Counter
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import cv2
import numpy as np
from mmaction.datasets import BaseActionDataset
from mmengine.dist import get_rank
from mmengine.logging import print_log

from .dfer_classes import DFER_CLASSES
from .errors import CorruptClipError, DFERDataError
from .frame_folder import list_frame_files

__all__ = ['BaseDFERDataset', 'MEDIA_ERRORS']


def _media_errors() -> tuple:
    """Exception types that mean "this clip's media cannot be decoded"."""
    # mmstt's frame and video decoders raise CorruptClipError; MMAction2's
    # own decoders (if a config uses them) RuntimeError/OSError/cv2.error.
    return (CorruptClipError, OSError, EOFError, RuntimeError, cv2.error)


#: Errors treated as corrupt media by ``on_bad_clip`` (mmstt's frame and
#: video decoders raise :class:`CorruptClipError`).
MEDIA_ERRORS = _media_errors()


class BaseDFERDataset(BaseActionDataset):
    """Base class of the DFER data sets: records, checks, bad-clip policy.

    Subclasses implement :meth:`load_data_list` with :meth:`frame_record`
    and :meth:`video_record`, which check the clip's files when the data
    set is built. Each record carries ``label`` (an index into the data
    set's ``METAINFO['classes']``, :data:`~mmstt.datasets.DFER_CLASSES`
    unless the subclass says otherwise), ``clip_id`` and
    ``source`` (the annotation file and line or folder it came from), and
    either ``frame_dir``/``frame_files``/``total_frames`` (frame folders)
    or ``filename`` (videos).

    Args:
        ann_file (str): Annotation file; may be empty when the subclass
            finds its own. Defaults to ``''``.
        pipeline (list): Transforms (configs or callables). Defaults to
            ``()``.
        data_root (str): Root of the data set copy. Defaults to ``''``.
        media (str): ``'frames'`` (folders of face frames) or ``'video'``.
            Defaults to ``'frames'``.
        clip_len (int, optional): Frames per sampled clip; only used to
            count the clips that are shorter (and padded) in the build log.
            Defaults to the ``clip_len`` of the pipeline's
            ``DFERSampleFrames``, or 16.
        on_bad_clip (str): What to do when a clip's media cannot be
            decoded at load time: ``'raise'`` an error naming the file, or
            ``'skip'`` it, log it as a warning and load another clip
            instead (the next index in test mode, a random one in
            training). Defaults to ``'raise'``.
        count_video_frames (bool): In video mode, read every video's frame
            count from its header at build time (PyAV) to count short
            clips in the log. Defaults to ``True``.
        show_progress (bool): Show a progress bar while checking more than
            1000 clips (rank 0 only). Defaults to ``True``.
        **kwargs: Passed to :class:`mmaction.datasets.BaseActionDataset`
            (``test_mode``, ``lazy_init``, ``serialize_data``,
            ``indices``, ``max_refetch`` ...).
    """

    METAINFO = dict(classes=DFER_CLASSES)

    def __init__(self,
                 ann_file: str = '',
                 pipeline: Iterable[Union[dict, Callable]] = (),
                 data_root: str = '',
                 media: str = 'frames',
                 clip_len: Optional[int] = None,
                 on_bad_clip: str = 'raise',
                 count_video_frames: bool = True,
                 show_progress: bool = True,
                 **kwargs: Any) -> None:
        if media not in ('frames', 'video'):
            raise ValueError(
                f"media must be 'frames' or 'video', got {media!r}")
        if on_bad_clip not in ('raise', 'skip'):
            raise ValueError(
                f"on_bad_clip must be 'raise' or 'skip', got {on_bad_clip!r}")
        self.media = media
        self._clip_len = clip_len
        self.on_bad_clip = on_bad_clip
        self.count_video_frames = count_video_frames
        self.show_progress = show_progress
        #: ``(index, path, reason)`` of every clip skipped in this process.
        self.skipped_clips: List[tuple] = []
        super().__init__(
            ann_file=ann_file,
            pipeline=list(pipeline),
            data_root=data_root,
            **kwargs)

    @property
    def clip_len(self) -> int:
        """Clip length used to count short clips (see ``clip_len``)."""
        if self._clip_len is not None:
            return self._clip_len
        from .transforms import DFERSampleFrames
        for transform in getattr(self.pipeline, 'transforms', []):
            if isinstance(transform, DFERSampleFrames):
                return transform.clip_len
        return 16

    # ------------------------------------------------------------------
    # building
    # ------------------------------------------------------------------
    def _progress(self, items: list, desc: str) -> Iterable:
        """Wrap ``items`` in a tqdm bar when the work is long."""
        if not self.show_progress or len(items) <= 1000 or get_rank() != 0:
            return items
        from tqdm import tqdm
        return tqdm(items, desc=desc, unit='clip')

    @staticmethod
    def frame_record(frame_dir: str, label: int, clip_id: str,
                     source: str) -> Dict[str, Any]:
        """Check a frame folder and build its record.

        Args:
            frame_dir (str): Folder holding the clip's frames.
            label (int): Label (index into the class names).
            clip_id (str): Clip id used in logs and predictions.
            source (str): Where the clip was listed (``file:line``).

        Returns:
            dict: ``frame_dir``, ``frame_files`` (numerically sorted names),
            ``total_frames``, ``label``, ``clip_id``, ``source``.

        Raises:
            DFERDataError: If the folder is missing or holds no image.
        """
        try:
            files = list_frame_files(frame_dir)
        except FileNotFoundError:
            raise DFERDataError(
                f'{source}: frame folder {frame_dir} does not exist (clip '
                f'{clip_id})') from None
        if not files:
            raise DFERDataError(
                f'{source}: frame folder {frame_dir} is empty, no .jpg/.png '
                f'frames (clip {clip_id})')
        return dict(
            frame_dir=frame_dir,
            frame_files=files,
            total_frames=len(files),
            label=int(label),
            clip_id=clip_id,
            source=source)

    @staticmethod
    def video_record(filename: str, label: int, clip_id: str,
                     source: str) -> Dict[str, Any]:
        """Check a video file and build its record.

        Args:
            filename (str): The video file.
            label (int): Label (index into the class names).
            clip_id (str): Clip id used in logs and predictions.
            source (str): Where the clip was listed (``file:line``).

        Returns:
            dict: ``filename``, ``label``, ``clip_id``, ``source``.

        Raises:
            DFERDataError: If the file is missing or empty.
        """
        if not osp.isfile(filename):
            raise DFERDataError(
                f'{source}: video {filename} does not exist (clip '
                f'{clip_id})')
        if osp.getsize(filename) == 0:
            raise DFERDataError(
                f'{source}: video {filename} is an empty file (clip '
                f'{clip_id})')
        return dict(
            filename=filename,
            label=int(label),
            clip_id=clip_id,
            source=source)

    @staticmethod
    def probe_video_frames(filename: str) -> int:
        """Frame count from a video's header, -1 when it cannot be read.

        Args:
            filename (str): The video file.

        Returns:
            int: Frame count in the container header (estimated from
            duration and frame rate when the header has none), or -1 when
            :class:`~mmstt.datasets.VideoReader` cannot open the file.
            Nothing is decoded: the count of a truncated file is only
            known when the clip is loaded.
        """
        from .video_io import VideoReader
        try:
            reader = VideoReader(filename)
        except CorruptClipError:
            return -1
        if reader.header_frames:
            return reader.header_frames
        return int(round((reader.duration or 0.0) * reader.fps))

    def log_summary(self, data_list: List[dict], what: str) -> None:
        """Log class counts and short clips of a freshly built list.

        Args:
            data_list (list[dict]): The records.
            what (str): Data set description for the log lines.
        """
        classes = self.metainfo['classes']
        counts = Counter(info['label'] for info in data_list)
        per_class = ', '.join(f'{name} {counts.get(i, 0)}'
                              for i, name in enumerate(classes))
        print_log(
            f'{what}: {len(data_list)} clips ({per_class})', logger='current')
        missing = [name for i, name in enumerate(classes) if counts[i] == 0]
        if missing and data_list:
            print_log(
                f'{what}: no clip of class(es) {", ".join(missing)}',
                logger='current',
                level=logging.WARNING)
        if self.media == 'frames':
            lengths = [info['total_frames'] for info in data_list]
        elif self.count_video_frames:
            lengths = []
            unreadable = []
            for info in self._progress(data_list, 'probing videos'):
                n = self.probe_video_frames(info['filename'])
                if n < 0:
                    unreadable.append(info['filename'])
                else:
                    lengths.append(n)
            if unreadable:
                print_log(
                    f'{what}: {len(unreadable)} video(s) cannot be opened '
                    'and will fail when loaded: ' + ', '.join(unreadable),
                    logger='current',
                    level=logging.WARNING)
        else:
            lengths = []
            print_log(
                f'{what}: video frame counts not probed '
                '(count_video_frames=False); clips shorter than '
                f'{self.clip_len} frames are padded when loaded',
                logger='current')
        if lengths:
            short = sum(1 for n in lengths if n < self.clip_len)
            print_log(
                f'{what}: frames per clip min {min(lengths)}, median '
                f'{int(np.median(lengths))}, max {max(lengths)}; {short} '
                f'clip(s) have fewer than {self.clip_len} frames and are '
                'kept with their last frame repeated',
                logger='current')

    # ------------------------------------------------------------------
    # loading
    # ------------------------------------------------------------------
    def get_cat_ids(self, idx: int) -> List[int]:
        """Label of clip ``idx`` (for ``ClassBalancedDataset``).

        Args:
            idx (int): Clip index.

        Returns:
            list[int]: ``[label]``.
        """
        return [int(self.get_data_info(idx)['label'])]

    @staticmethod
    def clip_path(data_info: dict) -> str:
        """The file or folder a record's media lives in.

        Args:
            data_info (dict): A record.

        Returns:
            str: ``frame_dir`` or ``filename``.
        """
        return data_info.get('frame_dir', data_info.get('filename', '?'))

    def _substitute_index(self, idx: int) -> int:
        """Index of the clip used instead of a bad clip ``idx``."""
        if len(self) < 2:
            return idx
        if self.test_mode:
            return (idx + 1) % len(self)
        new = idx
        while new == idx:
            new = int(np.random.randint(0, len(self)))
        return new

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on clip ``idx``, applying ``on_bad_clip``.

        Args:
            idx (int): Clip index.

        Returns:
            Any: The pipeline output.

        Raises:
            CorruptClipError: ``on_bad_clip='raise'`` and the clip's media
                cannot be decoded, or ``max_refetch`` bad clips in a row.
        """
        tries = 0
        while True:
            data_info = self.get_data_info(idx)
            path = self.clip_path(data_info)
            try:
                return self.pipeline(data_info)
            except MEDIA_ERRORS as err:
                reason = f'{type(err).__name__}: {err}'
                if self.on_bad_clip == 'raise':
                    raise CorruptClipError(
                        f'cannot load clip {path} (index {idx}, listed at '
                        f"{data_info.get('source', '?')}): {reason}. Set "
                        "on_bad_clip='skip' to substitute another clip."
                    ) from err
                tries += 1
                new = self._substitute_index(idx)
                self.skipped_clips.append((idx, path, reason))
                print_log(
                    f"on_bad_clip='skip': skipped clip {path} (index "
                    f'{idx}), loading index {new} instead: {reason}',
                    logger='current',
                    level=logging.WARNING)
                if tries > self.max_refetch or new == idx:
                    raise CorruptClipError(
                        f'gave up after {tries} unreadable clip(s) in a '
                        f'row; last: {path}: {reason}') from err
                idx = new
            except Exception as err:
                if hasattr(err, 'add_note'):
                    err.add_note(f'while loading clip {path} (index {idx})')
                raise

    def load_data_list(self) -> List[dict]:  # pragma: no cover - abstract
        """Build the records; implemented by subclasses."""
        raise NotImplementedError

    def _get_optional(self, value: Optional[str], default: str) -> str:
        """``value`` joined to ``data_root`` unless absolute, or default."""
        value = default if value is None else value
        if osp.isabs(value) or not self.data_root:
            return value
        return osp.join(self.data_root, value)
