# Copyright (c) OpenMMLab. All rights reserved.
import pytest

from mmstt.datasets import (DFERDataError, find_dfew_split_file,
                            normalize_clip_id, parse_dfew_csv,
                            parse_former_dfer_list)


def _write(path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_normalize_clip_id() -> None:
    assert normalize_clip_id('1') == '00001'
    assert normalize_clip_id(' 00042 ') == '00042'
    assert normalize_clip_id('123.mp4') == '00123'
    assert normalize_clip_id('clip_a') == 'clip_a'


def test_parse_csv_padded_unpadded_and_labels(tmp_path) -> None:
    path = _write(tmp_path / 's.csv',
                  'video_name,label\n1,1\n00002,7\n\n30,3\n')
    rows = parse_dfew_csv(path)
    assert [(r.clip, r.label, r.line) for r in rows] == [('00001', 0, 2),
                                                         ('00002', 6, 3),
                                                         ('00030', 2, 5)]


def test_parse_csv_column_order_and_bom(tmp_path) -> None:
    path = tmp_path / 's.csv'
    path.write_bytes('\ufefflabel,video_name\n5,9\n'.encode('utf-8'))
    rows = parse_dfew_csv(str(path))
    assert [(r.clip, r.label) for r in rows] == [('00009', 4)]


@pytest.mark.parametrize('text,match', [
    ('video_name,label\n1,1\n2\n', r's\.csv:3: malformed row'),
    ('video_name,label\n1,1\n2,x\n', r's\.csv:3: label .x. is not'),
    ('video_name,label\n1,0\n', r's\.csv:2: label 0 outside 1\.\.7'),
    ('video_name,label\n1,8\n', r's\.csv:2: label 8 outside 1\.\.7'),
    ('video_name,label\n1,1\n01,2\n', r's\.csv:3: clip 00001 listed twice'),
    ('1,1\n2,2\n', r's\.csv:1: expected the header'),
    ('\n\n', r'no clips listed in .*s\.csv \(the file is empty\)'),
    ('video_name,label\n', r'no clips listed in .*s\.csv \(only the header'),
    ('video_name,label\r\n\r\n', r'no clips listed in .*s\.csv'),
])
def test_parse_csv_errors_name_file_and_line(tmp_path, text, match) -> None:
    path = _write(tmp_path / 's.csv', text)
    with pytest.raises(DFERDataError, match=match):
        parse_dfew_csv(path)


def test_parse_csv_collects_errors(tmp_path) -> None:
    path = _write(tmp_path / 's.csv', 'video_name,label\n1,9\n2,2\n3\n')
    errors = []
    rows = parse_dfew_csv(path, errors=errors)
    assert [r.clip for r in rows] == ['00002']
    assert len(errors) == 2 and ':2:' in errors[0] and ':4:' in errors[1]


def test_find_split_file_both_namings(tmp_path) -> None:
    root = tmp_path / 'DFEW'
    official = _write(
        root / 'EmoLabel_DataSplit' / 'train(single-labeled)' / 'set_2.csv',
        'video_name,label\n')
    assert find_dfew_split_file(str(root), 2, 'train') == official
    other = _write(
        root / 'EmoLabel_DataSplit' / 'test(single-labeled)' /
        'single_testset_3.csv', 'video_name,label\n')
    assert find_dfew_split_file(str(root), 3, 'test') == other
    with pytest.raises(DFERDataError, match=r'set_4\.csv'):
        find_dfew_split_file(str(root), 4, 'test')


def test_parse_former_dfer_list(tmp_path) -> None:
    path = _write(
        tmp_path / 'train.txt', '/data/DFEW/clip_224x224/00001 71 0\n'
        'my clips/00002 12 6\n')
    rows = parse_former_dfer_list(path)
    assert [(r.clip, r.num_frames, r.label, r.line)
            for r in rows] == [('/data/DFEW/clip_224x224/00001', 71, 0, 1),
                               ('my clips/00002', 12, 6, 2)]


@pytest.mark.parametrize('text,match', [
    ('a 10\n', r'l\.txt:1: malformed line'),
    ('a 10 0\nb x 1\n', r'l\.txt:2: frame count and label'),
    ('a 10 7\n', r'l\.txt:1: label 7 outside 0\.\.6'),
    ('a -1 0\n', r'l\.txt:1: negative frame count'),
    ('', r'no clips listed in .*l\.txt \(the file is empty\)'),
])
def test_parse_list_errors(tmp_path, text, match) -> None:
    path = _write(tmp_path / 'l.txt', text)
    with pytest.raises(DFERDataError, match=match):
        parse_former_dfer_list(path)
