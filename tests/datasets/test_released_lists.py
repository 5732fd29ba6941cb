# Copyright (c) OpenMMLab. All rights reserved.
"""FERV39k and MAFW split lists as released."""
import os.path as osp

import pytest

from mmstt.datasets import (DFER_CLASSES, MAFW_CLASSES, DFERDataError,
                            ferv39k_split_file, mafw_split_file,
                            parse_ferv39k_list, parse_mafw_list)


def _write(path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def test_class_orders() -> None:
    assert MAFW_CLASSES[:7] == DFER_CLASSES
    assert MAFW_CLASSES[7:] == ('contempt', 'anxiety', 'helplessness',
                                'disappointment')


@pytest.mark.parametrize('newline', [b'\n', b'\r\n'])
def test_ferv39k_list_lf_and_crlf(tmp_path, newline) -> None:
    lines = [
        b'Action/Sad/0010 Sad', b'Crime/Happy/0010 Happy',
        b'War/Fear/0003 Fear', b'DailyLife/Angry/0000 Angry'
    ]
    path = _write(tmp_path / 'train_All.csv', newline.join(lines) + newline)
    rows = parse_ferv39k_list(path)
    # ids repeat across folders: the key is the whole path
    assert [r.clip for r in rows] == [
        'Action/Sad/0010', 'Crime/Happy/0010', 'War/Fear/0003',
        'DailyLife/Angry/0000'
    ]
    assert [DFER_CLASSES[r.label]
            for r in rows] == ['sad', 'happy', 'fear', 'angry']
    assert [r.scene for r in rows] == ['Action', 'Crime', 'War', 'DailyLife']
    assert [r.line for r in rows] == [1, 2, 3, 4]
    assert all(r.folder_label == r.label for r in rows)


@pytest.mark.parametrize('text,match', [
    (b'Action/Sad/0010\n', r'f\.csv:1: malformed line'),
    (b'Action/Sad/0010 Sad\nAction/0011 Sad\n', r'f\.csv:2: clip path'),
    (b'Action/Sad/0010 Sadness\n', r"f\.csv:1: unknown emotion 'Sadness'"),
    (b'A/Sad/1 Sad\r\nA/Sad/1 Sad\r\n', r'f\.csv:2: clip A/Sad/1 listed tw'),
    (b'', r'no clips listed in .*f\.csv'),
    (b'\r\n\r\n', r'no clips listed in .*f\.csv'),
])
def test_ferv39k_list_errors(tmp_path, text, match) -> None:
    path = _write(tmp_path / 'f.csv', text)
    with pytest.raises(DFERDataError, match=match):
        parse_ferv39k_list(path)


def test_ferv39k_folder_label_disagreement_is_kept(tmp_path) -> None:
    path = _write(tmp_path / 'f.csv', b'Action/Sad/0001 Happy\n')
    (row, ) = parse_ferv39k_list(path)
    assert row.label == 0 and row.folder_label == 1


def test_mafw_list_crlf_every_label(tmp_path) -> None:
    spelled = ('anger disgust fear happiness neutral sadness surprise '
               'contempt anxiety helplessness disappointment').split()
    data = b''.join(f'{i + 1:05d}.mp4 {name}\r\n'.encode()
                    for i, name in enumerate(spelled))
    rows = parse_mafw_list(_write(tmp_path / 'train.txt', data))
    assert [r.clip for r in rows] == [f'{i:05d}' for i in range(1, 12)]
    assert [r.filename for r in rows][:1] == ['00001.mp4']
    names = [MAFW_CLASSES[r.label] for r in rows]
    assert names == [
        'angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise',
        'contempt', 'anxiety', 'helplessness', 'disappointment'
    ]


def test_mafw_caption_and_compound_lists_are_refused(tmp_path) -> None:
    caption = _write(
        tmp_path / 'single' / 'with_caption' / 'set_1' / 'train.txt',
        '00025.mp4\tanger\t生气\tangry man\r\n'.encode('gbk'))
    with pytest.raises(DFERDataError, match='caption lists'):
        parse_mafw_list(caption)
    # the same content elsewhere: refused by its tab-separated columns
    moved = _write(tmp_path / 'elsewhere.txt', b'00025.mp4\tanger\tx\ty\r\n')
    with pytest.raises(DFERDataError, match=r'elsewhere\.txt:1: tab-sep'):
        parse_mafw_list(moved)
    compound = _write(tmp_path / 'c.txt', b'00025.mp4 anger_disgust\r\n')
    with pytest.raises(DFERDataError, match=r'c\.txt:1: compound label'):
        parse_mafw_list(compound)
    comp_dir = _write(tmp_path / 'compound' / 'set_1' / 'test.txt', b'')
    with pytest.raises(DFERDataError, match='compound-label lists'):
        parse_mafw_list(comp_dir)


@pytest.mark.parametrize('text,match', [
    (b'00025.mp4 joy\r\n', r"m\.txt:1: unknown label 'joy'"),
    (b'00025.mp4\r\n', r'm\.txt:1: malformed line'),
    (b'1.mp4 fear\r\n1.mp4 fear\r\n', r'm\.txt:2: clip 1 listed twice'),
    (b'', r'no clips listed in .*m\.txt'),
])
def test_mafw_list_errors(tmp_path, text, match) -> None:
    with pytest.raises(DFERDataError, match=match):
        parse_mafw_list(_write(tmp_path / 'm.txt', text))


def test_split_file_paths() -> None:
    assert ferv39k_split_file('R',
                              'test') == osp.join('R', '4_setups',
                                                  'All_scenes', 'test_All.csv')
    assert mafw_split_file('R', 3,
                           'train') == osp.join('R', 'Train & Test Set',
                                                'single', 'no_caption',
                                                'set_3', 'train.txt')
    with pytest.raises(ValueError):
        mafw_split_file('R', 6, 'train')
    with pytest.raises(ValueError):
        ferv39k_split_file('R', 'val')
