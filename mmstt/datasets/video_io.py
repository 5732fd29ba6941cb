# Copyright (c) OpenMMLab. All rights reserved.
"""Frame-exact video reading and H.264 writing with PyAV (FFmpeg).

Every video path of mmstt (data sets with ``media='video'``, the demo,
face extraction, :mod:`mmstt.apis`) reads through :class:`VideoReader`.
Frames are decoded sequentially from the start of the stream, so frame
``k`` is the ``k``-th frame the decoder outputs (presentation order) and
never a neighbour found by an inexact seek. A clip's frame count is the
number of frames that decode: the count in a container header is only
reported (:attr:`VideoReader.header_frames`), because a truncated file
keeps the header of the whole video.
"""
import logging
import os
import os.path as osp
from contextlib import closing
from fractions import Fraction
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

from .errors import CorruptClipError

__all__ = ['VideoReader', 'write_video']


def _av():
    """Import PyAV, with an install hint when it is missing."""
    try:
        import av
    except ImportError as err:  # pragma: no cover - av is a requirement
        raise ImportError(
            'mmstt reads and writes videos with PyAV: pip install av') from err
    return av


class VideoReader:
    """Read the frames of one video file exactly, as RGB ``uint8`` arrays.

    Opening the reader checks the container and its first video stream;
    nothing is decoded yet. The first use of :attr:`num_frames` decodes the
    whole stream once (without colour conversion) and, while the decoded
    frames fit in ``cache_bytes``, keeps them, so that a following
    :meth:`read` costs only the colour conversion of the frames asked for.
    Otherwise :meth:`read` decodes again from the start, up to the last
    index asked for.

    A stream that stops with a demuxer or decoder error, or at a packet the
    demuxer marks as corrupt (a truncated file), ends there: the frames
    before it are the clip, :attr:`damage` says what happened, and a
    warning naming the file is logged once when fewer frames decode than
    the header says (:attr:`shortfall`).

    Args:
        path (str): The video file.
        cache_bytes (int): Keep the frames decoded while counting when
            they take at most this many bytes (0 disables the cache).
            Defaults to ``64 * 2**20``.
        num_threads (int): Decoder threads; 0 lets FFmpeg choose.
            Defaults to 1 (data loader workers run in parallel already).

    Raises:
        CorruptClipError: When the file is missing, is not a video
            container, has no video stream, or no frame decodes; the
            message names the file.
    """

    def __init__(self,
                 path: str,
                 cache_bytes: int = 64 * 2**20,
                 num_threads: int = 1) -> None:
        self.path = str(path)
        self.cache_bytes = int(cache_bytes)
        self.num_threads = int(num_threads)
        #: Why decoding stopped early (``None`` for an intact stream).
        self.damage: Optional[str] = None
        self._num_frames: Optional[int] = None
        self._cache: Optional[list] = None
        self._warned = False
        container = self._open()
        try:
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if ctx is None:
                raise CorruptClipError(
                    f'the video stream of {self.path} has an unknown codec '
                    '(damaged header?)')
            self.header_frames: Optional[int] = int(stream.frames) or None
            rate = stream.average_rate or stream.guessed_rate
            self.fps: float = float(rate) if rate else 0.0
            self.frame_size: Tuple[int, int] = (int(ctx.width
                                                    or 0), int(ctx.height
                                                               or 0))
            self.codec_name: str = str(ctx.name)
            #: Duration in seconds from the container, or ``None``.
            self.duration: Optional[float] = (
                container.duration / 1e6 if container.duration else None)
        finally:
            container.close()
        if min(self.frame_size) <= 0:
            raise CorruptClipError(
                f'video {self.path} has no frame size in its header '
                f'({self.codec_name} stream)')

    # ------------------------------------------------------------------
    # decoding
    # ------------------------------------------------------------------
    def _open(self):
        """Open the container; check that it has a video stream."""
        av = _av()
        if not osp.isfile(self.path):
            raise CorruptClipError(f'video {self.path} does not exist')
        try:
            container = av.open(self.path, mode='r')
        except (av.FFmpegError, OSError, ValueError) as err:
            raise CorruptClipError(
                f'cannot open video {self.path}: {type(err).__name__}: '
                f'{err}') from err
        if not container.streams.video:
            container.close()
            raise CorruptClipError(f'{self.path} holds no video stream')
        return container

    def _frames(self) -> Iterator:
        """Decode the stream from the start, yielding ``av.VideoFrame``.

        Stops at the first demuxer/decoder error or corrupt packet (after
        flushing the frames the decoder still holds) and records it in
        :attr:`damage`.
        """
        av = _av()
        container = self._open()
        try:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = self.num_threads
            damage = None
            try:
                for packet in container.demux(stream):
                    if packet.is_corrupt:
                        damage = ('corrupt packet at byte '
                                  f'{packet.pos} (truncated file?)')
                        break
                    # The last packet is empty: decoding it flushes.
                    yield from packet.decode()
            except av.FFmpegError as err:
                damage = f'{type(err).__name__}: {err}'
            if damage is not None:
                self.damage = damage
                try:
                    yield from stream.codec_context.decode(None)
                except av.FFmpegError:
                    pass
        finally:
            container.close()

    def _finish_count(self, count: int) -> None:
        """Store the decoded count; refuse empty clips; report shortfall."""
        self._num_frames = count
        if count == 0:
            raise CorruptClipError(f'no frame of video {self.path} decodes' +
                                   (f': {self.damage}' if self.damage else ''))
        if self.shortfall and not self._warned:
            self._warned = True
            print_log(
                f'video {self.path}: {count} frames decode, its header says '
                f'{self.header_frames} ({self.shortfall} missing' +
                (f'; {self.damage}' if self.damage else '') + ')',
                logger='current',
                level=logging.WARNING)

    @staticmethod
    def _to_rgb(frame, path: str, index: int) -> np.ndarray:
        """Convert one decoded frame to an RGB ``uint8`` array."""
        try:
            return frame.to_ndarray(format='rgb24')
        except (ValueError, _av().FFmpegError) as err:
            raise CorruptClipError(
                f'cannot convert frame {index} of {path} to RGB: {err}'
            ) from err

    # ------------------------------------------------------------------
    # public API
    # ------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        """Number of frames that actually decode (decodes on first use)."""
        if self._num_frames is None:
            cache: Optional[list] = [] if self.cache_bytes > 0 else None
            size = 0
            count = 0
            for frame in self._frames():
                count += 1
                if cache is not None:
                    size += sum(p.buffer_size for p in frame.planes)
                    if size > self.cache_bytes:
                        cache = None
                    else:
                        cache.append(frame)
            self._cache = cache
            self._finish_count(count)
        return self._num_frames

    @property
    def shortfall(self) -> int:
        """Frames the header promises that do not decode (0 if unknown)."""
        if self._num_frames is None or not self.header_frames:
            return 0
        return max(0, self.header_frames - self._num_frames)

    @property
    def truncated(self) -> bool:
        """Whether the stream stopped at damage or short of its header.

        Decodes the stream on first use, as :attr:`num_frames` does.
        """
        return self.num_frames > 0 and (self.damage is not None
                                        or self.shortfall > 0)

    def __len__(self) -> int:
        return self.num_frames

    def __getitem__(self, index: int) -> np.ndarray:
        """Frame ``index`` (negative counts from the end), RGB ``uint8``."""
        index = int(index)
        if index < 0:
            index += self.num_frames
        return self.read([index])[0]

    def read(self, indices: Sequence[int]) -> List[np.ndarray]:
        """Decode the frames at ``indices`` (0-based, any order, repeats).

        Args:
            indices (Sequence[int]): Frame indices.

        Returns:
            list[np.ndarray]: One RGB ``uint8`` array ``(H, W, 3)`` per
            index, in the order asked for; repeated indices give copies.

        Raises:
            ValueError: If an index is negative.
            CorruptClipError: If an index is not below the number of
                frames that decode; the message names the file.
        """
        inds = [int(i) for i in np.asarray(indices).reshape(-1)]
        if not inds:
            return []
        if min(inds) < 0:
            raise ValueError(f'negative frame index {min(inds)} for '
                             f'{self.path}')
        wanted = sorted(set(inds))
        last = wanted[-1]
        if self._num_frames is not None and last >= self._num_frames:
            raise CorruptClipError(
                f'frame {last} asked for, but only {self._num_frames} '
                f'frames of {self.path} decode')
        got = {}
        if self._cache is not None:
            for i in wanted:
                got[i] = self._to_rgb(self._cache[i], self.path, i)
        else:
            pos = 0
            count = 0
            with closing(self._frames()) as decoded:
                for count, frame in enumerate(decoded, 1):
                    if count - 1 == wanted[pos]:
                        got[count - 1] = self._to_rgb(frame, self.path,
                                                      count - 1)
                        pos += 1
                        if pos == len(wanted):
                            break
            if pos < len(wanted):
                self._finish_count(count)
                raise CorruptClipError(
                    f'frame {wanted[pos]} asked for, but only {count} '
                    f'frames of {self.path} decode' +
                    (f' ({self.damage})' if self.damage else ''))
        out = []
        used = set()
        for i in inds:
            out.append(got[i].copy() if i in used else got[i])
            used.add(i)
        return out

    def iter_frames(self) -> Iterator[np.ndarray]:
        """Decode all frames in order.

        Yields:
            np.ndarray: RGB ``uint8`` frames ``(H, W, 3)``. When the stream
            ends, :attr:`num_frames` is known and a shortfall against the
            header has been logged.
        """
        if self._cache is not None:
            for i, frame in enumerate(self._cache):
                yield self._to_rgb(frame, self.path, i)
            return
        count = 0
        with closing(self._frames()) as decoded:
            for count, frame in enumerate(decoded, 1):
                yield self._to_rgb(frame, self.path, count - 1)
        self._finish_count(count)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.path!r}, '
                f'codec={self.codec_name}, frame_size={self.frame_size}, '
                f'fps={self.fps:.3f}, header_frames={self.header_frames})')


def _even_pad(frame: np.ndarray) -> np.ndarray:
    """Repeat the last row/column so both sides are even (yuv420p)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode='edge')


def _pixel_format(codec) -> str:
    """yuv420p (full-range yuvj420p for MJPEG), else the first one."""
    formats = [f.name for f in (codec.video_formats or [])]
    for name in ('yuvj420p',
                 'yuv420p') if codec.name == 'mjpeg' else ('yuv420p', ):
        if name in formats or not formats:
            return name
    return formats[0]


def write_video(path: str,
                frames: Iterable[np.ndarray],
                fps: float,
                codec: str = 'h264') -> str:
    """Write RGB frames to a video file (H.264 / yuv420p by default).

    The H.264 default in an ``.mp4`` (moov atom first) plays in browsers.
    Frames with an odd width or height get their last row/column repeated,
    because yuv420p needs even sides.

    Args:
        path (str): Output file; the container follows the extension
            (``.mp4``, ``.mkv``, ``.avi``...). Parent folders are created.
        frames (Iterable[np.ndarray]): RGB ``uint8`` frames ``(H, W, 3)``,
            all of one size.
        fps (float): Frame rate.
        codec (str): FFmpeg encoder name (``'h264'``, ``'mpeg4'``,
            ``'mjpeg'``...). Defaults to ``'h264'``.

    Returns:
        str: ``path``.

    Raises:
        ValueError: For no frames, frames that are not ``(H, W, 3)`` uint8
            or differ in size, or ``fps <= 0``.
        OSError: When FFmpeg cannot write the file (named).
    """
    av = _av()
    if not fps or fps <= 0:
        raise ValueError(f'fps must be > 0, got {fps}')
    path = str(path)
    parent = osp.dirname(osp.abspath(path))
    os.makedirs(parent, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    options = {
        'movflags': '+faststart'
    } if path.lower().endswith(('.mp4', '.mov', '.m4v')) else {}
    count = 0
    shape = None
    try:
        with av.open(path, mode='w', options=options) as container:
            stream = None
            for frame in frames:
                frame = np.asarray(frame)
                if (frame.dtype != np.uint8 or frame.ndim != 3
                        or frame.shape[2] != 3):
                    raise ValueError(
                        f'frame {count} for {path} must be uint8 (H, W, 3) '
                        f'RGB, got {frame.dtype} {frame.shape}')
                if shape is None:
                    shape = frame.shape
                    stream = container.add_stream(codec, rate=rate)
                    padded = _even_pad(frame)
                    stream.height, stream.width = padded.shape[:2]
                    stream.pix_fmt = _pixel_format(stream.codec)
                elif frame.shape != shape:
                    raise ValueError(
                        f'frame {count} for {path} has shape {frame.shape}, '
                        f'the first frame {shape}')
                image = av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(_even_pad(frame)), format='rgb24')
                for packet in stream.encode(image):
                    container.mux(packet)
                count += 1
            if stream is None:
                raise ValueError(f'no frames to write to {path}')
            for packet in stream.encode(None):
                container.mux(packet)
    except av.FFmpegError as err:
        _remove(path)
        raise OSError(f'cannot write video {path}: {err}') from err
    except BaseException:
        _remove(path)
        raise
    return path


def _remove(path: str) -> None:
    """Delete a half-written output file."""
    try:
        os.remove(path)
    except OSError:
        pass
