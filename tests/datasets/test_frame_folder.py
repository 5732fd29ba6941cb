# Copyright (c) OpenMMLab. All rights reserved.
import pytest

from mmstt.datasets import list_frame_files, natural_sort_key


def test_natural_sort_key() -> None:
    names = ['10.jpg', '2.jpg', '1.jpg', 'img_00011.jpg', 'img_00003.jpg']
    assert sorted(
        names[:3], key=natural_sort_key) == ['1.jpg', '2.jpg', '10.jpg']
    assert sorted(
        names[3:], key=natural_sort_key) == ['img_00003.jpg', 'img_00011.jpg']
    assert sorted(
        ['frame10_b', 'frame9_a', 'frame10_a'],
        key=natural_sort_key) == ['frame9_a', 'frame10_a', 'frame10_b']


def test_list_frame_files(tmp_path) -> None:
    for name in ['3.jpg', '20.JPG', '100.png', 'notes.txt', '.hidden.jpg']:
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / '5.jpg').mkdir()  # a folder is not a frame
    assert list_frame_files(str(tmp_path)) == ['3.jpg', '20.JPG', '100.png']
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert list_frame_files(str(empty)) == []
    with pytest.raises(FileNotFoundError, match='missing'):
        list_frame_files(str(tmp_path / 'missing'))
