# Copyright (c) OpenMMLab. All rights reserved.
import cv2
import numpy as np
import pytest

import mmstt  # noqa: F401
from mmstt.datasets import CorruptClipError
from mmstt.datasets.transforms import FrameFolderDecode


def _write_frames(folder, names, size=(8, 6)) -> list:
    """Write PNG frames whose red channel encodes their order."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        img = np.zeros((size[1], size[0], 3), np.uint8)
        img[..., 2] = 10 * (i + 1)  # red in BGR
        img[..., 0] = 1  # blue
        cv2.imwrite(str(folder / name), img)
    return names


def test_numeric_order_and_rgb(tmp_path) -> None:
    names = ['1.png', '2.png', '10.png', '11.png']
    _write_frames(tmp_path / 'clip', names)
    results = FrameFolderDecode()(
        dict(frame_dir=str(tmp_path / 'clip'), frame_inds=np.array([3, 2, 0])))
    imgs = results['imgs']
    # frames were written in numeric order, red = 10 * (rank + 1); RGB out
    assert [int(im[0, 0, 0]) for im in imgs] == [40, 30, 10]
    assert all(int(im[0, 0, 2]) == 1 for im in imgs)
    assert results['img_shape'] == (6, 8)
    assert results['original_shape'] == (6, 8)


def test_uses_stored_file_list_and_start_index(tmp_path) -> None:
    names = _write_frames(tmp_path / 'c', ['a.png', 'b.png', 'c.png'])
    results = FrameFolderDecode()(
        dict(
            frame_dir=str(tmp_path / 'c'),
            frame_files=names[::-1],  # the stored order wins
            frame_inds=np.array([1, 2]),
            start_index=1))
    assert [int(im[0, 0, 0]) for im in results['imgs']] == [30, 20]


def test_repeated_indices_are_copies(tmp_path) -> None:
    _write_frames(tmp_path / 'c', ['1.png', '2.png'])
    results = FrameFolderDecode()(
        dict(frame_dir=str(tmp_path / 'c'), frame_inds=np.array([0, 1, 1])))
    a, b = results['imgs'][1], results['imgs'][2]
    np.testing.assert_array_equal(a, b)
    assert a is not b and not np.shares_memory(a, b)


def test_corrupt_frame_names_file(tmp_path) -> None:
    _write_frames(tmp_path / 'c', ['1.png', '2.png'])
    (tmp_path / 'c' / '2.png').write_bytes(b'not an image at all')
    with pytest.raises(CorruptClipError, match=r'2\.png'):
        FrameFolderDecode()(
            dict(frame_dir=str(tmp_path / 'c'), frame_inds=np.array([0, 1])))


def test_truncated_jpeg_names_file(tmp_path) -> None:
    folder = tmp_path / 'c'
    folder.mkdir()
    img = np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8)
    ok, buf = cv2.imencode('.jpg', img)
    data = buf.tobytes()
    (folder / '00001.jpg').write_bytes(data)
    (folder / '00002.jpg').write_bytes(data[:-200])
    decode = FrameFolderDecode()
    decode(dict(frame_dir=str(folder), frame_inds=np.array([0])))
    with pytest.raises(CorruptClipError, match=r'00002\.jpg'):
        decode(dict(frame_dir=str(folder), frame_inds=np.array([1])))


def test_empty_file_and_out_of_range(tmp_path) -> None:
    _write_frames(tmp_path / 'c', ['1.png'])
    (tmp_path / 'c' / '2.png').write_bytes(b'')
    with pytest.raises(CorruptClipError, match=r'2\.png is an empty file'):
        FrameFolderDecode()(
            dict(frame_dir=str(tmp_path / 'c'), frame_inds=np.array([1])))
    with pytest.raises(CorruptClipError, match='out of range'):
        FrameFolderDecode()(
            dict(frame_dir=str(tmp_path / 'c'), frame_inds=np.array([5])))


def test_missing_folder_and_size_mismatch(tmp_path) -> None:
    with pytest.raises(CorruptClipError, match='nowhere'):
        FrameFolderDecode()(
            dict(
                frame_dir=str(tmp_path / 'nowhere'), frame_inds=np.array([0])))
    _write_frames(tmp_path / 'c', ['1.png'])
    _write_frames(tmp_path / 'd', ['2.png'], size=(4, 4))
    (tmp_path / 'c' / '2.png').write_bytes(
        (tmp_path / 'd' / '2.png').read_bytes())
    with pytest.raises(CorruptClipError, match='shape'):
        FrameFolderDecode()(
            dict(frame_dir=str(tmp_path / 'c'), frame_inds=np.array([0, 1])))
