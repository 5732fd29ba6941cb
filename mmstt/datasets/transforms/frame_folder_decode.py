# Copyright (c) OpenMMLab. All rights reserved.
"""Decode the sampled frames of a clip stored as a folder of images."""
import os.path as osp
from typing import Dict, List, Optional

import cv2
import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from mmengine import fileio

from ..errors import CorruptClipError
from ..frame_folder import list_frame_files


@TRANSFORMS.register_module()
class FrameFolderDecode(BaseTransform):
    """Load frames by index from a folder whose files are named arbitrarily.

    MMAction2's ``RawFrameDecode`` builds file names from a template
    (``img_{:05}.jpg``); DFEW and face-extraction tools name frames in
    other ways. This transform indexes the folder's image files in
    numerical order instead (:func:`~mmstt.datasets.list_frame_files`),
    using the ``frame_files`` list the data set stored at build time, or
    listing the folder when it is absent.

    Repeated indices (padding of short clips) are decoded once and copied,
    so in-place transforms such as ``Flip`` stay correct.

    Required keys: ``frame_dir``, ``frame_inds``; optional ``frame_files``,
    ``start_index`` (subtracted from the indices), ``offset``.

    Added keys: ``imgs`` (list of uint8 RGB arrays, each ``(H, W, 3)``),
    ``img_shape``, ``original_shape``.

    Args:
        backend_args (dict, optional): Passed to :func:`mmengine.fileio.get`.
            Defaults to ``None`` (local disk).
        check_jpeg_end (bool): Reject JPEG files that do not end with the
            end-of-image marker (truncated files). Defaults to ``True``.

    Raises:
        CorruptClipError: When a frame is missing, unreadable, cannot be
            decoded, or frames differ in size; the message names the file.
    """

    def __init__(self,
                 backend_args: Optional[dict] = None,
                 check_jpeg_end: bool = True) -> None:
        self.backend_args = backend_args
        self.check_jpeg_end = check_jpeg_end

    def _decode(self, path: str) -> np.ndarray:
        """Read and decode one frame to RGB.

        Args:
            path (str): Frame file.

        Returns:
            np.ndarray: uint8 array of shape ``(H, W, 3)``.
        """
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except (OSError, ValueError) as err:
            raise CorruptClipError(f'cannot read frame {path}: {err}') from err
        if len(data) == 0:
            raise CorruptClipError(f'frame {path} is an empty file')
        if (self.check_jpeg_end and data[:2] == b'\xff\xd8'
                and not data.rstrip(b'\x00').endswith(b'\xff\xd9')):
            raise CorruptClipError(
                f'frame {path} is a truncated JPEG (no end-of-image marker)')
        try:
            img = cv2.imdecode(
                np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
        except cv2.error as err:
            raise CorruptClipError(
                f'cannot decode frame {path}: {err}') from err
        if img is None:
            raise CorruptClipError(
                f'cannot decode frame {path}: corrupt or not an image')
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def transform(self, results: Dict) -> Dict:
        """Decode ``results['frame_inds']`` of ``results['frame_dir']``.

        Args:
            results (dict): The result dict.

        Returns:
            dict: ``results`` with ``imgs`` and the image shapes.
        """
        frame_dir = results['frame_dir']
        files: Optional[List[str]] = results.get('frame_files')
        if files is None:
            try:
                files = list_frame_files(frame_dir)
            except FileNotFoundError as err:
                raise CorruptClipError(str(err)) from err
        if len(files) == 0:
            raise CorruptClipError(f'frame folder {frame_dir} is empty')
        inds = np.asarray(results['frame_inds']).reshape(-1)
        inds = inds - int(results.get('start_index', 0)) + int(
            results.get('offset', 0))
        cache: Dict[int, np.ndarray] = {}
        imgs = []
        for idx in inds.tolist():
            if idx < 0 or idx >= len(files):
                raise CorruptClipError(
                    f'frame index {idx} is out of range for {frame_dir} '
                    f'({len(files)} frames)')
            if idx in cache:
                imgs.append(cache[idx].copy())
                continue
            img = self._decode(osp.join(frame_dir, files[idx]))
            if imgs and img.shape != imgs[0].shape:
                raise CorruptClipError(
                    f'frame {osp.join(frame_dir, files[idx])} has shape '
                    f'{img.shape}, other frames of the clip {imgs[0].shape}')
            cache[idx] = img
            imgs.append(img)
        results['imgs'] = imgs
        results['original_shape'] = imgs[0].shape[:2]
        results['img_shape'] = imgs[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(backend_args='
                f'{self.backend_args}, check_jpeg_end={self.check_jpeg_end})')
