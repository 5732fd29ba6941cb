# Copyright (c) OpenMMLab. All rights reserved.
"""Reading annotation files whatever their encoding and line endings.

The released split files are ASCII (DFEW, FERV39k, MAFW), with LF or CRLF
line endings. Copies that went through a spreadsheet may come back as
UTF-8 with a byte-order mark or as UTF-16 (Excel's "Unicode text", always
with a BOM): these are decoded correctly. A file that is not valid UTF-8
and has no BOM (cp1252, GBK ...) is refused with the file, line and byte
offset, instead of guessing a code page: a wrong guess would silently turn
a label into another string. Re-save such a file as UTF-8.
"""
import codecs
import os.path as osp
from collections import Counter
from typing import Dict, List, NamedTuple

from .errors import DFERDataError

__all__ = ['AnnotationText', 'read_annotation_text']

_BOMS = ((codecs.BOM_UTF8, 'utf-8-sig'), (codecs.BOM_UTF16_LE, 'utf-16'),
         (codecs.BOM_UTF16_BE, 'utf-16'))


class AnnotationText(NamedTuple):
    """The decoded text of an annotation file.

    Attributes:
        path (str): The file.
        encoding (str): ``'utf-8'``, ``'utf-8-sig'`` (UTF-8 with BOM) or
            ``'utf-16'`` (with BOM).
        lines (list[str]): The lines without their line endings (line
            ``i + 1`` of the file is ``lines[i]``).
        endings (dict[str, int]): How many lines end with ``'\\r\\n'``,
            ``'\\n'``, ``'\\r'`` or nothing (``''``, a last line without
            newline).
    """
    path: str
    encoding: str
    lines: List[str]
    endings: Dict[str, int]


def _split_lines(text: str) -> tuple:
    """Lines and a count of their endings (``\\r\\n``, ``\\n``, ``\\r``)."""
    lines, endings = [], Counter()
    start, n = 0, len(text)
    while start < n:
        cr, lf = text.find('\r', start), text.find('\n', start)
        cands = [i for i in (cr, lf) if i >= 0]
        if not cands:
            lines.append(text[start:])
            endings[''] += 1
            break
        end = min(cands)
        if text[end] == '\r' and end + 1 < n and text[end + 1] == '\n':
            ending = '\r\n'
        else:
            ending = text[end]
        lines.append(text[start:end])
        endings[ending] += 1
        start = end + len(ending)
    return lines, dict(endings)


def read_annotation_text(path: str) -> AnnotationText:
    """Read and decode an annotation file.

    Args:
        path (str): The file.

    Returns:
        AnnotationText: Decoded lines, the encoding and the line endings.

    Raises:
        DFERDataError: If the file does not exist, or is neither UTF-8
            nor BOM-marked UTF-16 (the message names the file, the line
            and the byte offset of the first bad byte).
    """
    if not osp.isfile(path):
        raise DFERDataError(f'{path}: annotation file does not exist')
    with open(path, 'rb') as f:
        raw = f.read()
    encoding = 'utf-8'
    for bom, name in _BOMS:
        if raw.startswith(bom):
            encoding = name
            break
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b'\n') + 1
        raise DFERDataError(
            f'{path}:{line}: not {encoding.upper()} text (byte '
            f'0x{raw[err.start]:02x} at offset {err.start}); mmstt reads '
            'annotation files as UTF-8 (with or without BOM) or UTF-16 '
            'with BOM. A file saved as cp1252, GBK or another code page '
            'must be re-saved as UTF-8') from None
    if text.startswith('\ufeff'):  # a UTF-16 BOM survives decoding
        text = text[1:]
    lines, endings = _split_lines(text)
    return AnnotationText(path, encoding, lines, endings)
