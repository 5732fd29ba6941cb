# Copyright (c) OpenMMLab. All rights reserved.
"""VideoReader / write_video: exact frames, real counts, named errors."""
import logging
import os.path as osp

import av
import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger

from mmstt.datasets import CorruptClipError, VideoReader, write_video

NUM_FRAMES = 60
SIZE = 64
#: Largest |mean gray - 3k| of the gray area per codec at the encoders'
#: default quality (MPEG-4 part 2 from OpenCV quantises coarsely).
GRAY_TOL = dict(mp4v=4.5, xvid=4.5, mpeg4_bf=1.5, mjpeg=1.5, h264=1.5)


def index_frame(k: int) -> np.ndarray:
    """Frame ``k``: gray level ``3k``, its index as 8 black/white blocks.

    The blocks (rows 0-15) make the index survive any codec error; the
    gray area (rows 16-63) is the level ``3k`` of the issue's clips.
    """
    frame = np.full((SIZE, SIZE, 3), 3 * k, np.uint8)
    for bit in range(8):
        frame[:16, bit * 8:(bit + 1) * 8] = 255 if (k >> bit) & 1 else 0
    return frame


def frame_index(frame: np.ndarray) -> int:
    """Index coded in the blocks of a decoded :func:`index_frame`."""
    bits = [
        frame[4:12, b * 8 + 2:b * 8 + 6].mean() > 128
        for b in range(min(8, frame.shape[1] // 8))
    ]
    return sum(int(v) << b for b, v in enumerate(bits))


def gray_level(frame: np.ndarray) -> float:
    """Mean of the gray area, away from the block edges."""
    return float(frame[24:].mean())


def textured_frame(k: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`index_frame` plus noise 0..8, so that frames cost bytes."""
    noise = rng.integers(0, 9, (SIZE, SIZE, 3))
    return np.clip(index_frame(k) + noise, 0, 255).astype(np.uint8)


def write_cv2(path: str,
              fourcc: str,
              num_frames: int = NUM_FRAMES,
              textured: bool = False) -> str:
    """Write index frames with OpenCV's FFmpeg writer."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), 25,
                             (SIZE, SIZE))
    if not writer.isOpened():
        pytest.skip(f'OpenCV has no {fourcc} encoder')
    rng = np.random.default_rng(0)
    for k in range(num_frames):
        frame = textured_frame(k, rng) if textured else index_frame(k)
        writer.write(frame[..., ::-1].copy())
    writer.release()
    return path


def write_mpeg4_bframes(path: str, num_frames: int = NUM_FRAMES) -> str:
    """MPEG-4 part 2 with B-frames in AVI (as DivX/XVID movies)."""
    with av.open(path, 'w') as container:
        stream = container.add_stream('mpeg4', rate=25)
        stream.width = stream.height = SIZE
        stream.pix_fmt = 'yuv420p'
        stream.bit_rate = 2_000_000
        stream.options = {'bf': '2', 'g': '30'}
        for k in range(num_frames):
            image = av.VideoFrame.from_ndarray(index_frame(k), format='rgb24')
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def make_clip(tmp_path, codec: str, num_frames: int = NUM_FRAMES) -> str:
    """Write an index clip in one of the tested codecs."""
    if codec == 'mp4v':
        return write_cv2(str(tmp_path / 'mp4v.mp4'), 'mp4v', num_frames)
    if codec == 'xvid':
        return write_cv2(str(tmp_path / 'xvid.avi'), 'XVID', num_frames)
    if codec == 'mjpeg':
        return write_cv2(str(tmp_path / 'mjpeg.avi'), 'MJPG', num_frames)
    if codec == 'mpeg4_bf':
        return write_mpeg4_bframes(str(tmp_path / 'bf.avi'), num_frames)
    return write_video(
        str(tmp_path / 'h264.mp4'),
        (index_frame(k) for k in range(num_frames)), 25)


def cut_in_half(path: str, out: str) -> str:
    """Copy the first half of ``path`` to ``out``."""
    with open(path, 'rb') as f:
        data = f.read()
    with open(out, 'wb') as f:
        f.write(data[:len(data) // 2])
    return out


def cut_media_in_half(path: str, out: str) -> str:
    """Cut ``path`` in the middle of its packet data (after the header)."""
    with av.open(path) as container:
        first = next(p.pos for p in container.demux(video=0) if p.size)
    with open(path, 'rb') as f:
        data = f.read()
    with open(out, 'wb') as f:
        f.write(data[:first + (len(data) - first) // 2])
    return out


def opencv_count(path: str) -> int:
    """Frames OpenCV grabs sequentially (an independent decoder loop)."""
    cap = cv2.VideoCapture(path)
    count = 0
    while cap.grab():
        count += 1
    cap.release()
    return count


class _Capture(logging.Handler):

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_log():
    logger = MMLogger.get_current_instance()
    handler = _Capture()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


@pytest.mark.parametrize('codec', sorted(GRAY_TOL))
def test_every_frame_is_exact(tmp_path, codec):
    path = make_clip(tmp_path, codec)
    reader = VideoReader(path)
    assert reader.num_frames == NUM_FRAMES == len(reader)
    assert reader.header_frames == NUM_FRAMES
    assert reader.shortfall == 0 and reader.damage is None
    assert not reader.truncated
    assert reader.frame_size == (SIZE, SIZE)
    assert reader.fps == pytest.approx(25.0)
    frames = reader.read(range(NUM_FRAMES))
    for k, frame in enumerate(frames):
        assert frame.dtype == np.uint8 and frame.shape == (SIZE, SIZE, 3)
        assert frame_index(frame) == k
        assert abs(gray_level(frame) - 3 * k) < GRAY_TOL[codec]
    # The same frames by iteration and by a second, uncached decode.
    iterated = list(VideoReader(path).iter_frames())
    assert len(iterated) == NUM_FRAMES
    assert all((a == b).all() for a, b in zip(iterated, frames))
    uncached = VideoReader(path, cache_bytes=0)
    inds = [59, 3, 3, 40, 0, 58]
    got = uncached.read(inds)
    assert [frame_index(f) for f in got] == inds
    assert all((g == frames[i]).all() for g, i in zip(got, inds))


def test_read_order_repeats_and_copies(tmp_path):
    reader = VideoReader(make_clip(tmp_path, 'h264'))
    got = reader.read(np.array([[7, 2], [7, 7]]))
    assert [frame_index(f) for f in got] == [7, 2, 7, 7]
    got[0][:] = 0
    assert frame_index(got[2]) == 7 and got[2].max() == 255
    assert reader.read([]) == []
    assert frame_index(reader[5]) == 5 and frame_index(reader[-1]) == 59
    with pytest.raises(ValueError, match='negative'):
        reader.read([-1])
    with pytest.raises(CorruptClipError, match=r'frame 60 .*h264\.mp4'):
        reader.read([0, 60])


def test_read_past_end_without_count(tmp_path):
    path = make_clip(tmp_path, 'mjpeg', num_frames=10)
    reader = VideoReader(path, cache_bytes=0)
    with pytest.raises(CorruptClipError, match='only 10 frames'):
        reader.read([3, 12])
    assert reader.num_frames == 10


@pytest.mark.parametrize('codec', ['xvid', 'mjpeg'])
def test_truncated_avi_counts_frames_that_decode(tmp_path, codec,
                                                 warnings_log):
    fourcc = dict(xvid='XVID', mjpeg='MJPG')[codec]
    full = write_cv2(str(tmp_path / f'{codec}.avi'), fourcc, textured=True)
    path = cut_media_in_half(full, str(tmp_path / f'cut_{codec}.avi'))
    reader = VideoReader(path)
    assert reader.header_frames == NUM_FRAMES  # the header lies
    decoded = list(VideoReader(path, cache_bytes=0).iter_frames())
    assert 0 < reader.num_frames == len(decoded) < NUM_FRAMES
    # OpenCV also returns the frame of the cut packet, half garbage.
    assert reader.num_frames <= opencv_count(path) <= reader.num_frames + 1
    assert reader.shortfall == NUM_FRAMES - reader.num_frames
    assert reader.truncated  # the demuxer may or may not see the cut
    assert [frame_index(f) for f in decoded] == list(range(len(decoded)))
    assert any(path in m and 'header says 60' in m for m in warnings_log)
    with pytest.raises(CorruptClipError, match=osp.basename(path)):
        reader.read([reader.num_frames])


def test_truncated_faststart_mp4_counts_frames_that_decode(tmp_path):
    rng = np.random.default_rng(0)
    frames = [textured_frame(k, rng) for k in range(NUM_FRAMES)]
    full = write_video(str(tmp_path / 'tex.mp4'), frames, 25)
    path = cut_in_half(full, str(tmp_path / 'cut.mp4'))
    reader = VideoReader(path)
    assert reader.header_frames == NUM_FRAMES
    count = sum(1 for _ in VideoReader(path, cache_bytes=0).iter_frames())
    assert 0 < reader.num_frames == count < NUM_FRAMES
    assert reader.shortfall == NUM_FRAMES - count


def test_truncated_to_no_frame_is_corrupt(tmp_path):
    # Half of this small AVI is its header: no frame is left.
    path = cut_in_half(
        make_clip(tmp_path, 'xvid'), str(tmp_path / 'cut_xvid.avi'))
    reader = VideoReader(path)
    with pytest.raises(CorruptClipError, match='no frame of .*cut_xvid'):
        reader.num_frames


def test_truncated_mp4_without_index_is_corrupt(tmp_path):
    # OpenCV writes the moov atom last: half a file has no index at all.
    path = cut_in_half(
        make_clip(tmp_path, 'mp4v'), str(tmp_path / 'cut_mp4v.mp4'))
    with pytest.raises(CorruptClipError, match='cut_mp4v.mp4'):
        VideoReader(path)


def test_garbage_empty_missing_are_corrupt(tmp_path):
    garbage = tmp_path / 'garbage.mp4'
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    empty = tmp_path / 'empty.avi'
    empty.write_bytes(b'')
    text = tmp_path / 'notes.mp4'
    text.write_text('not a video\n' * 50)
    for path in (garbage, empty, text, tmp_path / 'missing.mp4'):
        with pytest.raises(CorruptClipError, match=path.name):
            VideoReader(str(path)).num_frames


def test_unknown_codec_is_corrupt(tmp_path):
    data = open(make_clip(tmp_path, 'mjpeg'), 'rb').read()
    assert data.count(b'MJPG') == 2  # the AVI stream header and format
    path = tmp_path / 'unknown.avi'
    path.write_bytes(data.replace(b'MJPG', b'QQQQ'))
    with pytest.raises(CorruptClipError, match='unknown.avi has an unknown'):
        VideoReader(str(path))


def test_write_video_h264_reads_back(tmp_path):
    out = tmp_path / 'sub' / 'clip.mp4'
    frames = [index_frame(k)[:37, :51] for k in range(40)]  # odd sides
    assert write_video(str(out), iter(frames), fps=30000 / 1001) == str(out)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == 'h264'
        assert stream.codec_context.pix_fmt == 'yuv420p'
        assert (stream.width, stream.height) == (52, 38)
        assert float(stream.average_rate) == pytest.approx(29.97, abs=1e-3)
        packets = sum(1 for p in container.demux(stream) if p.size)
    assert packets == 40
    reader = VideoReader(str(out))
    assert reader.num_frames == reader.header_frames == 40
    back = reader.read(range(40))
    assert [frame_index(f) for f in back] == list(range(40))
    assert all(
        abs(float(f[24:37, :51].mean()) - 3 * k) < 1.5
        for k, f in enumerate(back))


def test_write_video_mjpeg_and_bad_input(tmp_path):
    path = write_video(
        str(tmp_path / 'm.avi'), [index_frame(k) for k in range(5)],
        fps=25,
        codec='mjpeg')
    assert VideoReader(path).codec_name == 'mjpeg'
    assert [frame_index(f)
            for f in VideoReader(path).iter_frames()] == list(range(5))
    with pytest.raises(ValueError, match='no frames'):
        write_video(str(tmp_path / 'none.mp4'), [], fps=25)
    mixed = [index_frame(0), index_frame(1)[:32]]
    with pytest.raises(ValueError, match='shape'):
        write_video(str(tmp_path / 'mixed.mp4'), mixed, fps=25)
    with pytest.raises(ValueError, match='uint8'):
        write_video(str(tmp_path / 'float.mp4'), [np.zeros((8, 8, 3))], fps=25)
    with pytest.raises(ValueError, match='fps'):
        write_video(str(tmp_path / 'fps.mp4'), [index_frame(0)], fps=0)
    for name in ('none.mp4', 'mixed.mp4', 'float.mp4', 'fps.mp4'):
        assert not (tmp_path / name).exists()
