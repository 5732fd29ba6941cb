# Copyright (c) OpenMMLab. All rights reserved.
"""Open a video and decode its sampled frames exactly (PyAV)."""
from typing import Dict

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ..errors import CorruptClipError
from ..video_io import VideoReader


@TRANSFORMS.register_module()
class DFERVideoInit(BaseTransform):
    """Open ``results['filename']`` and count the frames that decode.

    The count is taken by decoding the stream (see
    :class:`~mmstt.datasets.VideoReader`), so a truncated file gives the
    number of frames it really holds, not its header's. Decoded frames are
    kept up to ``cache_bytes`` for :class:`DFERVideoDecode`, so a short
    clip is decoded only once.

    Required keys: ``filename``.

    Added keys: ``video_reader``, ``total_frames`` (frames that decode),
    ``header_frames`` (the container's count, or ``None``),
    ``frame_shortfall`` (header count minus decoded count, 0 when the
    header agrees or has none), ``avg_fps``.

    Args:
        allow_truncated (bool): Use the frames that decode from a
            truncated video (its stream stops with an error or a corrupt
            packet, or it yields fewer frames than its header says), with
            a warning naming it. By default such a video is a
            :class:`~mmstt.datasets.CorruptClipError`, handled by the data
            set's ``on_bad_clip`` policy. Defaults to ``False``.
        cache_bytes (int): See :class:`~mmstt.datasets.VideoReader`.
            Defaults to ``64 * 2**20``.
        num_threads (int): Decoder threads per video. Defaults to 1.

    Raises:
        CorruptClipError: When the video cannot be opened, no frame
            decodes, or it is truncated and ``allow_truncated`` is
            ``False``; the message names the file.
    """

    def __init__(self,
                 allow_truncated: bool = False,
                 cache_bytes: int = 64 * 2**20,
                 num_threads: int = 1) -> None:
        self.allow_truncated = allow_truncated
        self.cache_bytes = cache_bytes
        self.num_threads = num_threads

    def transform(self, results: Dict) -> Dict:
        """Open the video and add its frame count.

        Args:
            results (dict): The result dict; needs ``filename``.

        Returns:
            dict: ``results`` with the reader and the counts.
        """
        filename = results['filename']
        reader = VideoReader(
            filename,
            cache_bytes=self.cache_bytes,
            num_threads=self.num_threads)
        total = reader.num_frames
        if reader.truncated and not self.allow_truncated:
            header = reader.header_frames or '?'
            why = f' ({reader.damage})' if reader.damage else ''
            raise CorruptClipError(
                f'video {filename} is truncated{why}: {total} of {header} '
                'frames decode. Set allow_truncated=True in DFERVideoInit '
                'to use them.')
        results['video_reader'] = reader
        results['total_frames'] = total
        results['header_frames'] = reader.header_frames
        results['frame_shortfall'] = reader.shortfall
        results['avg_fps'] = reader.fps
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(allow_truncated='
                f'{self.allow_truncated}, cache_bytes={self.cache_bytes}, '
                f'num_threads={self.num_threads})')


@TRANSFORMS.register_module()
class DFERVideoDecode(BaseTransform):
    """Decode the frames ``results['frame_inds']`` of an opened video.

    The video counterpart of
    :class:`~mmstt.datasets.transforms.FrameFolderDecode`: frame ``k`` is
    the ``k``-th decoded frame, exactly the image the frame-folder twin of
    the video holds at index ``k``. Repeated indices (padding of short
    clips) are copies, so in-place transforms such as ``Flip`` stay
    correct. The reader is removed from ``results`` afterwards.

    Required keys: ``video_reader`` (from :class:`DFERVideoInit`),
    ``frame_inds``; optional ``start_index`` (subtracted from the
    indices), ``offset``.

    Added keys: ``imgs`` (list of uint8 RGB arrays, each ``(H, W, 3)``),
    ``img_shape``, ``original_shape``.

    Raises:
        CorruptClipError: When an index is out of range of the frames that
            decode; the message names the file.
    """

    def transform(self, results: Dict) -> Dict:
        """Decode the sampled frames.

        Args:
            results (dict): The result dict.

        Returns:
            dict: ``results`` with ``imgs`` and the image shapes.
        """
        reader: VideoReader = results.pop('video_reader')
        inds = np.asarray(results['frame_inds']).reshape(-1)
        inds = inds - int(results.get('start_index', 0)) + int(
            results.get('offset', 0))
        if inds.size and inds.min() < 0:
            raise CorruptClipError(
                f'frame index {int(inds.min())} is out of range for '
                f'{reader.path}')
        imgs = reader.read(inds)
        results['imgs'] = imgs
        results['original_shape'] = imgs[0].shape[:2]
        results['img_shape'] = imgs[0].shape[:2]
        return results
