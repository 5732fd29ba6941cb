# Copyright (c) OpenMMLab. All rights reserved.
"""Exceptions raised for bad DFER input.

Structural problems of a data set copy (missing split file, malformed CSV
row, missing or empty frame folder, unknown class folder) raise
:class:`DFERDataError` when the data set is built. Media that cannot be
decoded (corrupt JPEG, unreadable video) raise :class:`CorruptClipError`
when the clip is loaded. Both messages name the offending file.
"""

__all__ = ['DFERDataError', 'CorruptClipError']


class DFERDataError(ValueError):
    """A structural problem of a DFER data set copy, found at build time."""


class CorruptClipError(RuntimeError):
    """A clip whose frames or video cannot be decoded, found at load time."""
