# Copyright (c) OpenMMLab. All rights reserved.
"""Follow one face through a clip and crop it.

The tracker turns per-frame detections (:mod:`.face_detection`) into one
box per frame:

1. **Shots.** A scene cut is where the colour histogram jumps: the
   Bhattacharyya distance between the hue-saturation histograms of two
   consecutive frames exceeds ``cut_threshold``. Each shot is tracked on
   its own, so a cut re-initialises the track to the largest face of the
   new shot and no box is carried across it.
2. **Start and follow.** The track starts at the largest face; in each
   later frame it takes the detection whose centre is nearest to the
   previous box's centre, if that centre is within ``max_jump`` box sides
   (per frame elapsed); other faces (people walking through the shot) are
   ignored, however large. After ``reacquire_after`` frames without an
   acceptable detection the track starts again from the largest face.
3. **Gaps.** A frame of a shot without an accepted detection takes the
   box of the nearest frame of the same shot that has one (the earlier
   one on ties) and is listed as *filled*. A shot where nothing was found
   has no box, unless ``fill_across_cuts`` is set (the AFEW extraction
   needs a crop for every frame); those frames are filled too.
4. **Smoothing.** A temporal median of ``smooth`` frames, within a shot.

Crops are squares around the box, enlarged by ``margin`` of the box side on
every side, parts outside the frame filled by replicating the border.
"""
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from .face_detection import FaceDetector

__all__ = [
    'Box', 'FaceTrack', 'crop_face', 'detect_and_track', 'frame_histogram',
    'scene_cut_distance', 'square_box', 'track_face'
]

Box = Tuple[float, float, float, float]


def frame_histogram(frame: np.ndarray, bins: int = 16) -> np.ndarray:
    """Normalised hue-saturation histogram of a frame, for cut detection.

    Args:
        frame (np.ndarray): RGB ``uint8`` frame ``(H, W, 3)``.
        bins (int): Bins per channel. Defaults to 16.

    Returns:
        np.ndarray: ``float32`` histogram ``(bins, bins)`` summing to 1.
    """
    small = cv2.resize(frame, (64, 64), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [bins, bins], [0, 180, 0, 256])
    return (hist / max(float(hist.sum()), 1.0)).astype(np.float32)


def scene_cut_distance(hist_a: np.ndarray, hist_b: np.ndarray) -> float:
    """Bhattacharyya distance of two :func:`frame_histogram` results.

    Args:
        hist_a (np.ndarray): First histogram.
        hist_b (np.ndarray): Second histogram.

    Returns:
        float: 0 for equal histograms, 1 for disjoint ones.
    """
    return float(cv2.compareHist(hist_a, hist_b, cv2.HISTCMP_BHATTACHARYYA))


def square_box(box: Sequence[float], margin: float) -> Box:
    """The square crop region around a face box.

    Args:
        box (Sequence[float]): ``(x1, y1, x2, y2)``.
        margin (float): Added on every side, as a fraction of the longer
            box side.

    Returns:
        tuple: ``(x1, y1, x2, y2)`` of a square with the box's centre
        (it may extend past the frame).
    """
    x1, y1, x2, y2 = [float(v) for v in box[:4]]
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def crop_face(frame: np.ndarray, box: Sequence[float], margin: float,
              size: int) -> np.ndarray:
    """Square crop around a face box, resized to ``size``.

    Args:
        frame (np.ndarray): Frame ``(H, W, 3)`` (any channel order).
        box (Sequence[float]): Face ``(x1, y1, x2, y2)``.
        margin (float): See :func:`square_box`.
        size (int): Output side in pixels.

    Returns:
        np.ndarray: ``(size, size, 3)`` crop; parts outside the frame
        repeat its border.
    """
    x1, y1, x2, y2 = square_box(box, margin)
    left, top = int(round(x1)), int(round(y1))
    side = max(1, int(round(x2 - x1)))
    height, width = frame.shape[:2]
    pad = max(0, -left, -top, left + side - width, top + side - height)
    if pad:
        frame = cv2.copyMakeBorder(frame, pad, pad, pad, pad,
                                   cv2.BORDER_REPLICATE)
        left, top = left + pad, top + pad
    crop = frame[top:top + side, left:left + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interp)


@dataclass
class FaceTrack:
    """One face followed through a clip.

    Args:
        detected (list): Per frame, the detection the track accepted
            (``(x1, y1, x2, y2)``) or None.
        boxes (list): Per frame, the box to crop (filled and smoothed) or
            None where no box could be given (a shot without a face).
        filled (list[int]): Frames whose box was filled from another
            frame.
        shots (list[int]): First frame of every shot (``[0]`` without
            cuts).
        frame_size (tuple, optional): ``(width, height)`` of the frames.
            Defaults to None.
        detector (str): Name of the detector. Defaults to ``''``.
        faces_per_frame (list[int]): Faces detected in each frame (all of
            them, not only the tracked one). Defaults to ``[]``.
    """

    detected: List[Optional[Box]]
    boxes: List[Optional[Box]]
    filled: List[int]
    shots: List[int]
    frame_size: Optional[Tuple[int, int]] = None
    detector: str = ''
    faces_per_frame: List[int] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        """Frames in the clip."""
        return len(self.boxes)

    @property
    def num_detected(self) -> int:
        """Frames with an accepted detection."""
        return sum(b is not None for b in self.detected)

    def longest_gap(self) -> int:
        """Longest run of consecutive frames without an accepted detection.

        Returns:
            int: Frames (0 when the face was found in every frame).
        """
        longest = run = 0
        for box in self.detected:
            run = run + 1 if box is None else 0
            longest = max(longest, run)
        return longest

    def to_json(self) -> Dict:
        """The ``faces.json`` content.

        Returns:
            dict: ``boxes`` (one ``[x1, y1, x2, y2]`` in source pixels or
            null per source frame: the box each crop was made from),
            ``detected`` (the accepted detections, null where none),
            ``filled``, ``shots``, ``frame_size``, ``detector``,
            ``num_frames``, ``num_detected`` and ``longest_gap``.
        """

        def rounded(box):
            return None if box is None else [round(float(v), 2) for v in box]

        return dict(
            detector=self.detector,
            frame_size=(list(self.frame_size)
                        if self.frame_size is not None else None),
            num_frames=self.num_frames,
            num_detected=self.num_detected,
            longest_gap=self.longest_gap(),
            shots=list(self.shots),
            filled=list(self.filled),
            boxes=[rounded(b) for b in self.boxes],
            detected=[rounded(b) for b in self.detected])


def _centre_distance(box: np.ndarray, ref: Box) -> np.ndarray:
    """Centre distances of ``box`` rows to ``ref``, in ``ref`` sides."""
    side = max(ref[2] - ref[0], ref[3] - ref[1], 1e-6)
    cx, cy = (ref[0] + ref[2]) / 2, (ref[1] + ref[3]) / 2
    bx = (box[:, 0] + box[:, 2]) / 2
    by = (box[:, 1] + box[:, 3]) / 2
    return np.hypot(bx - cx, by - cy) / side


def _follow(detections: Sequence[np.ndarray], max_jump: float,
            reacquire_after: int) -> List[Optional[Box]]:
    """Accepted detection per frame of one shot."""
    chosen: List[Optional[Box]] = []
    prev: Optional[Box] = None
    missed = 0
    for dets in detections:
        dets = np.asarray(dets, np.float64).reshape(-1, 5)
        pick = None
        if len(dets):
            if prev is None:
                area = (dets[:, 2] - dets[:, 0]) * (dets[:, 3] - dets[:, 1])
                pick = int(np.argmax(area))
            else:
                dist = _centre_distance(dets, prev)
                best = int(np.argmin(dist))
                if dist[best] <= max_jump * (missed + 1):
                    pick = best
        if pick is None:
            chosen.append(None)
            missed += 1
            if prev is not None and missed > reacquire_after:
                prev = None
        else:
            prev = tuple(float(v) for v in dets[pick, :4])
            chosen.append(prev)
            missed = 0
    return chosen


def _median(boxes: List[Box], window: int) -> List[Box]:
    """Temporal median of boxes (odd windows are centred)."""
    if window <= 1 or len(boxes) < 2:
        return list(boxes)
    arr = np.asarray(boxes, np.float64)
    half = window // 2
    return [
        tuple(
            float(v)
            for v in np.median(arr[max(0, i - half):i + half + 1], axis=0))
        for i in range(len(arr))
    ]


def _fill(chosen: List[Optional[Box]],
          pool: Sequence[int]) -> Tuple[List[Optional[Box]], List[int]]:
    """Fill None entries from the nearest index of ``pool`` with a box."""
    found = [i for i in pool if chosen[i] is not None]
    out = list(chosen)
    filled = []
    if not found:
        return out, filled
    arr = np.asarray(found)
    for i in pool:
        if chosen[i] is None:
            j = int(arr[np.argmin(np.abs(arr - i))])
            out[i] = chosen[j]
            filled.append(i)
    return out, filled


def track_face(detections: Sequence[np.ndarray],
               cuts: Sequence[int] = (),
               max_jump: float = 0.5,
               reacquire_after: int = 12,
               smooth: int = 5,
               fill_across_cuts: bool = False,
               frame_size: Optional[Tuple[int, int]] = None,
               detector: str = '') -> FaceTrack:
    """Follow one face through per-frame detections.

    Args:
        detections (Sequence[np.ndarray]): Per frame, ``(N, 5)`` rows
            ``(x1, y1, x2, y2, score)`` (as :meth:`FaceDetector.detect`).
        cuts (Sequence[int]): Frames that start a new shot (0 need not be
            listed). Defaults to ``()``.
        max_jump (float): Largest centre move accepted from one frame to
            the next, in sides of the previous box (multiplied by the
            frames elapsed since the last accepted detection).
            Defaults to 0.5.
        reacquire_after (int): Frames without an acceptable detection
            after which the track restarts at the largest face.
            Defaults to 12.
        smooth (int): Temporal median window (1: none). Defaults to 5.
        fill_across_cuts (bool): Give frames of a shot without any face
            the box of the nearest frame of another shot (listed as
            filled) instead of None. Defaults to False.
        frame_size (tuple, optional): ``(width, height)``, recorded.
            Defaults to None.
        detector (str): Detector name, recorded. Defaults to ``''``.

    Returns:
        FaceTrack: The track.
    """
    num = len(detections)
    starts = sorted({0, *[int(c) for c in cuts if 0 < int(c) < num]})
    shots = [(s, e) for s, e in zip(starts, starts[1:] + [num]) if s < e]
    detected: List[Optional[Box]] = []
    for start, end in shots:
        detected += _follow(detections[start:end], max_jump, reacquire_after)
    boxes: List[Optional[Box]] = list(detected)
    filled: List[int] = []
    for start, end in shots:
        boxes, more = _fill(boxes, range(start, end))
        filled += more
    if fill_across_cuts:
        boxes, more = _fill(boxes, range(num))
        filled += more
    for start, end in shots:
        part = boxes[start:end]
        if part and all(b is not None for b in part):
            boxes[start:end] = _median(part, smooth)
    return FaceTrack(
        detected=detected,
        boxes=boxes,
        filled=sorted(filled),
        shots=[s for s, _ in shots] if shots else [0],
        frame_size=frame_size,
        detector=detector,
        faces_per_frame=[
            len(np.asarray(d).reshape(-1, 5)) for d in detections
        ])


def detect_and_track(frames: Iterable[np.ndarray],
                     detector: FaceDetector,
                     cut_threshold: float = 0.5,
                     total: Optional[int] = None,
                     progress: bool = False,
                     **track_kwargs) -> FaceTrack:
    """Detect faces in a stream of frames, find the cuts, track one face.

    Frames are looked at once and not kept, so a whole video can be
    streamed.

    Args:
        frames (Iterable[np.ndarray]): RGB ``uint8`` frames in order.
        detector (FaceDetector): The face detector.
        cut_threshold (float): Histogram distance (see
            :func:`scene_cut_distance`) that starts a new shot; 1 or more
            disables cut detection. Defaults to 0.5.
        total (int, optional): Number of frames, for the progress bar.
            Defaults to None.
        progress (bool): Show a progress bar. Defaults to False.
        **track_kwargs: Arguments of :func:`track_face`.

    Returns:
        FaceTrack: The track (``detector`` and ``frame_size`` recorded).

    Raises:
        ValueError: If ``frames`` is empty.
    """
    detections, cuts = [], []
    prev_hist = None
    frame_size = None
    for i, frame in enumerate(
            tqdm(
                frames,
                total=total,
                desc='finding faces',
                unit='frame',
                disable=not progress,
                leave=False)):
        if frame_size is None:
            frame_size = (int(frame.shape[1]), int(frame.shape[0]))
        detections.append(detector.detect(frame))
        hist = frame_histogram(frame)
        if (prev_hist is not None and cut_threshold < 1.0
                and scene_cut_distance(prev_hist, hist) > cut_threshold):
            cuts.append(i)
        prev_hist = hist
    if not detections:
        raise ValueError('no frames to find faces in')
    track_kwargs.setdefault('frame_size', frame_size)
    track_kwargs.setdefault('detector', detector.name)
    return track_face(detections, cuts, **track_kwargs)
