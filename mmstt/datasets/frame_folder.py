# Copyright (c) OpenMMLab. All rights reserved.
"""Helpers for clips stored as folders of frame images.

Frame files are ordered numerically whatever their naming (``1.jpg``,
``2.jpg``, ``10.jpg`` or ``img_00001.jpg`` ...): digit runs in a name
compare as integers, the rest as lower-cased text.
"""
import os
import os.path as osp
import re
from typing import List, Tuple, Union

__all__ = [
    'IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'natural_sort_key',
    'list_frame_files'
]

#: File extensions (lower case) read as frames.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
#: File extensions (lower case) read as videos.
VIDEO_EXTENSIONS = ('.avi', '.mp4', '.mkv', '.mov', '.webm', '.mpg', '.mpeg',
                    '.m4v')

_DIGITS = re.compile(r'(\d+)')


def natural_sort_key(name: str) -> Tuple[Union[str, int], ...]:
    """Sort key that compares digit runs numerically.

    Args:
        name (str): A file name.

    Returns:
        tuple: Alternating text and integer parts (text first), followed by
        the name itself to break ties such as ``'01'`` against ``'1'``.
    """
    parts = _DIGITS.split(name)
    key: List[Union[str, int]] = [
        int(part) if i % 2 else part.lower() for i, part in enumerate(parts)
    ]
    key.append(name)
    return tuple(key)


def list_frame_files(frame_dir: str) -> List[str]:
    """List the frame images of a clip folder in numerical order.

    Hidden files and files that are not images (by extension) are ignored.

    Args:
        frame_dir (str): The clip folder.

    Returns:
        list[str]: File names (not paths), sorted with
        :func:`natural_sort_key`. Empty if the folder holds no image.

    Raises:
        FileNotFoundError: If ``frame_dir`` does not exist or is not a
            folder.
    """
    if not osp.isdir(frame_dir):
        raise FileNotFoundError(f'frame folder {frame_dir} does not exist')
    names = []
    with os.scandir(frame_dir) as entries:
        for entry in entries:
            if entry.name.startswith('.'):
                continue
            if osp.splitext(entry.name)[1].lower() not in IMAGE_EXTENSIONS:
                continue
            if entry.is_file():
                names.append(entry.name)
    names.sort(key=natural_sort_key)
    return names
