# Copyright (c) OpenMMLab. All rights reserved.
"""Annotation files in other encodings and line endings (issue 11 item 5)."""
import codecs

import pytest

from mmstt.datasets import (DFERDataError, DFEWDataset, parse_dfew_csv,
                            read_annotation_text)

CSV = 'video_name,label\n1,1\n00002,7\n'


def test_line_endings_are_counted(tmp_path) -> None:
    path = tmp_path / 'a.txt'
    path.write_bytes(b'a 1\r\nb 2\nc 3\rd 4')
    text = read_annotation_text(str(path))
    assert text.lines == ['a 1', 'b 2', 'c 3', 'd 4']
    assert text.endings == {'\r\n': 1, '\n': 1, '\r': 1, '': 1}
    assert text.encoding == 'utf-8'


@pytest.mark.parametrize('bom,codec,encoding', [
    (codecs.BOM_UTF8, 'utf-8', 'utf-8-sig'),
    (codecs.BOM_UTF16_LE, 'utf-16-le', 'utf-16'),
    (codecs.BOM_UTF16_BE, 'utf-16-be', 'utf-16'),
])
def test_bom_marked_files_are_read_correctly(tmp_path, bom, codec,
                                             encoding) -> None:
    path = tmp_path / 's.csv'
    path.write_bytes(bom + CSV.replace('\n', '\r\n').encode(codec))
    assert read_annotation_text(str(path)).encoding == encoding
    rows = parse_dfew_csv(str(path))
    assert [(r.clip, r.label, r.line) for r in rows] == [('00001', 0, 2),
                                                         ('00002', 6, 3)]


def test_cp1252_is_refused_naming_file_and_line(tmp_path) -> None:
    path = tmp_path / 'set_1.csv'
    # 0xe9 is "é" in cp1252 and invalid alone in UTF-8
    path.write_bytes(b'video_name,label\n1,1\ncaf\xe9,2\n')
    with pytest.raises(
            DFERDataError, match=r'set_1\.csv:3: not UTF-8 .*0xe9.*re-saved'):
        parse_dfew_csv(str(path))
    errors = []
    assert parse_dfew_csv(str(path), errors=errors) == []
    assert len(errors) == 1 and 'set_1.csv:3' in errors[0]


def test_missing_file(tmp_path) -> None:
    with pytest.raises(DFERDataError, match='nope.csv: annotation file does'):
        read_annotation_text(str(tmp_path / 'nope.csv'))


def test_header_only_split_builds_no_dataset(tmp_path) -> None:
    split = tmp_path / 'EmoLabel_DataSplit' / 'test(single-labeled)'
    split.mkdir(parents=True)
    (split / 'set_1.csv').write_text('video_name,label\n')
    with pytest.raises(
            DFERDataError, match=r'no clips listed in .*set_1\.csv'):
        DFEWDataset(str(tmp_path), fold=1, split='test')
