# Copyright (c) OpenMMLab. All rights reserved.
"""An expression timeline for a whole video.

:func:`video_timeline` slides a window over the video (``window_s``
seconds, every ``stride_s`` seconds), crops each frame to the tracked face
(:mod:`.face_tracking`), runs every window through the config's test
pipeline (its clip length and frame sampling) and the model, and returns
one row per window. Windows in which no frame has a detected face are
marked ``face = False`` and get no probabilities: nothing is guessed for
them. :func:`write_timeline_csv`, :func:`plot_timeline` and
:func:`write_annotated_video` write what a person reads or watches.

The video is streamed twice (faces, then crops) and only the face crops are
kept in memory, so long videos fit.
"""
import csv
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from tqdm import tqdm

from mmstt.datasets.video_io import VideoReader, write_video
from .face_detection import FaceDetector, build_face_detector
from .face_tracking import FaceTrack, crop_face, detect_and_track
from .inference import class_names_of, model_pipeline, predict_probabilities

__all__ = [
    'Timeline', 'plot_timeline', 'timeline_windows', 'video_timeline',
    'write_annotated_video', 'write_timeline', 'write_timeline_csv'
]


@dataclass
class Timeline:
    """Per-window predictions over a video.

    Args:
        video (str): The video file.
        fps (float): Its frame rate.
        num_frames (int): Frames that decode.
        class_names (list[str]): Class names, in score order.
        windows (list[tuple]): ``(start, end)`` frame ranges (end
            exclusive).
        probs (np.ndarray): ``(num_windows, num_classes)``; rows of NaN for
            windows without a face.
        face (list[bool]): Whether each window had a detected face.
        face_frames (list[int]): Frames with a detected face per window.
        boxes (list): Face box per window (the tracked box of the frame
            nearest its middle that has one) or None.
        track (FaceTrack, optional): The face track (None without face
            detection).
    """

    video: str
    fps: float
    num_frames: int
    class_names: List[str]
    windows: List[Tuple[int, int]]
    probs: np.ndarray
    face: List[bool]
    face_frames: List[int]
    boxes: List[Optional[Tuple[float, float, float, float]]]
    track: Optional[FaceTrack] = None

    def top_class(self) -> List[Optional[str]]:
        """Top class name per window (None where there was no face)."""
        return [
            self.class_names[int(np.argmax(p))] if ok else None
            for p, ok in zip(self.probs, self.face)
        ]

    def frame_labels(self) -> List[Optional[Tuple[str, float]]]:
        """``(top class, probability)`` shown on each source frame.

        A frame shows the window whose centre is nearest to it among the
        windows that contain it and have a face; None for a frame of a
        shot without any face, or when no such window exists.

        Returns:
            list: One entry per source frame.
        """
        out: List[Optional[Tuple[str, float]]] = [None] * self.num_frames
        best = np.full(self.num_frames, np.inf)
        for (start, end), probs, ok in zip(self.windows, self.probs,
                                           self.face):
            if not ok:
                continue
            k = int(np.argmax(probs))
            centre = (start + end - 1) / 2
            for i in range(start, min(end, self.num_frames)):
                if self.track is not None and self.track.boxes[i] is None:
                    continue
                dist = abs(i - centre)
                if dist < best[i]:
                    best[i] = dist
                    out[i] = (self.class_names[k], float(probs[k]))
        return out


def timeline_windows(num_frames: int, window: int,
                     stride: int) -> List[Tuple[int, int]]:
    """Window frame ranges that cover a video.

    Windows of ``window`` frames start every ``stride`` frames; one more
    window ending at the last frame is added when the regular ones stop
    short of it. A video shorter than a window is one window.

    Args:
        num_frames (int): Frames of the video.
        window (int): Frames per window.
        stride (int): Frames between window starts.

    Returns:
        list[tuple[int, int]]: ``(start, end)`` with ``end`` exclusive.
    """
    if num_frames < 1 or window < 1 or stride < 1:
        raise ValueError('num_frames, window and stride must be >= 1, got '
                         f'{num_frames}, {window}, {stride}')
    if num_frames <= window:
        return [(0, num_frames)]
    spans = [(s, s + window)
             for s in range(0, num_frames - window + 1, stride)]
    if spans[-1][1] < num_frames:
        spans.append((num_frames - window, num_frames))
    return spans


def _crop_size(model: Any) -> int:
    """Side of the face crops: the larger side of the config's Resize."""
    cfg = getattr(model, 'cfg', None)
    pipeline = []
    if cfg is not None:
        pipeline = cfg.get('test_pipeline', None) or \
            cfg.test_dataloader.dataset.pipeline
    sides = []
    for step in pipeline:
        if isinstance(step, dict) and str(step.get('type',
                                                   '')).endswith('Resize'):
            scale = step.get('scale', None)
            if isinstance(scale, (tuple, list)):
                sides += [int(v) for v in scale if int(v) > 0]
            elif isinstance(scale, (int, float)) and scale > 0:
                sides.append(int(scale))
    return max(sides) if sides else 224


def _window_box(track: FaceTrack, start: int,
                end: int) -> Optional[Tuple[float, float, float, float]]:
    """Tracked box of the window frame nearest its middle that has one."""
    mid = (start + end - 1) / 2
    for i in sorted(range(start, end), key=lambda j: (abs(j - mid), j)):
        if track.boxes[i] is not None:
            return tuple(track.boxes[i])
    return None


def video_timeline(model: Any,
                   video: str,
                   detector: Union[str, FaceDetector, None] = 'yunet',
                   window_s: float = 2.0,
                   stride_s: float = 0.5,
                   margin: float = 0.2,
                   crop_size: Optional[int] = None,
                   cut_threshold: float = 0.5,
                   batch_size: int = 8,
                   progress: bool = True,
                   test_pipeline: Optional[Any] = None) -> Timeline:
    """Classify the expression in sliding windows over a whole video.

    Args:
        model (Any): A recognizer from :func:`mmstt.apis.init_recognizer`
            (or an engine with ``predict_scores`` and ``class_names``).
        video (str): The video file.
        detector (str | FaceDetector | None): Face detector (``'yunet'``,
            ``'haar'`` or an instance); None classifies the whole frames
            (for videos that are face crops already). Defaults to
            ``'yunet'``.
        window_s (float): Window length in seconds (at least one frame);
            each window is sampled by the config's test pipeline like one
            clip. Defaults to 2.0.
        stride_s (float): Seconds between window starts.
            Defaults to 0.5.
        margin (float): Face crop margin (see
            :func:`mmstt.apis.face_tracking.square_box`). Defaults to 0.2.
        crop_size (int, optional): Side of the face crops; None takes the
            config's Resize size. Defaults to None.
        cut_threshold (float): Scene cut threshold of the tracker.
            Defaults to 0.5.
        batch_size (int): Windows per forward pass. Defaults to 8.
        progress (bool): Show progress bars. Defaults to True.
        test_pipeline (Compose, optional): In-memory pipeline; built from
            ``model.cfg`` when None. Defaults to None.

    Returns:
        Timeline: One row per window.

    Raises:
        CorruptClipError: If the video cannot be decoded.
    """
    if stride_s <= 0 or window_s <= 0:
        raise ValueError(f'window_s and stride_s must be > 0, got '
                         f'{window_s}, {stride_s}')
    reader = VideoReader(str(video), cache_bytes=0)
    fps = reader.fps if reader.fps > 0 else 25.0
    track = None
    if detector is not None:
        detector = build_face_detector(detector)
        track = detect_and_track(
            reader.iter_frames(),
            detector,
            cut_threshold=cut_threshold,
            total=reader.header_frames,
            progress=progress)
    size = crop_size or _crop_size(model)
    crops = []
    for i, frame in enumerate(
            tqdm(
                reader.iter_frames(),
                total=track.num_frames if track else reader.header_frames,
                desc='cropping faces' if track else 'reading frames',
                unit='frame',
                disable=not progress,
                leave=False)):
        if track is None:
            crops.append(frame)
            continue
        if i >= track.num_frames:
            raise RuntimeError(f'{video} decoded more frames on the second '
                               'pass than on the first')
        box = track.boxes[i]
        crops.append(
            crop_face(frame, box, margin, size) if box is not None else None)
    num_frames = len(crops)
    windows = timeline_windows(num_frames, max(1, round(window_s * fps)),
                               max(1, round(stride_s * fps)))
    names = class_names_of(model)
    if test_pipeline is None:
        test_pipeline = model_pipeline(model)
    face, face_frames, boxes, todo = [], [], [], []
    for start, end in windows:
        if track is None:
            face.append(True)
            face_frames.append(end - start)
            boxes.append(None)
            todo.append(len(boxes) - 1)
            continue
        found = sum(track.detected[i] is not None for i in range(start, end))
        face.append(found > 0)
        face_frames.append(found)
        boxes.append(_window_box(track, start, end) if found else None)
        if found:
            todo.append(len(boxes) - 1)
    probs = np.full((len(windows), len(names)), np.nan)
    bar = tqdm(
        total=len(todo),
        desc='classifying windows',
        unit='window',
        disable=not progress)
    for b in range(0, len(todo), batch_size):
        rows = todo[b:b + batch_size]
        clips = []
        for r in rows:
            start, end = windows[r]
            clips.append([c for c in crops[start:end] if c is not None])
        probs[rows] = predict_probabilities(model, clips, test_pipeline,
                                            batch_size)
        bar.update(len(rows))
    bar.close()
    return Timeline(
        video=str(video),
        fps=float(fps),
        num_frames=num_frames,
        class_names=list(names),
        windows=windows,
        probs=probs,
        face=face,
        face_frames=face_frames,
        boxes=boxes,
        track=track)


def write_timeline_csv(timeline: Timeline, path: str) -> str:
    """Write one row per window.

    Columns: ``start_s``, ``end_s`` (window start and end in seconds,
    ``end_s`` exclusive), ``start_frame``, ``end_frame``, ``face``
    (``yes``/``no``), ``face_frames``, ``x1 y1 x2 y2`` (the face box nearest
    the window's middle, source pixels), ``top_class``, ``top_prob`` and
    one column per class with its probability. Windows without a face
    have empty box, class and probability cells.

    Args:
        timeline (Timeline): From :func:`video_timeline`.
        path (str): Output ``.csv``.

    Returns:
        str: ``path``.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    header = [
        'start_s', 'end_s', 'start_frame', 'end_frame', 'face', 'face_frames',
        'x1', 'y1', 'x2', 'y2', 'top_class', 'top_prob'
    ] + list(timeline.class_names)
    tops = timeline.top_class()
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for k, (start, end) in enumerate(timeline.windows):
            ok = timeline.face[k]
            box = timeline.boxes[k]
            row = [
                f'{start / timeline.fps:.3f}', f'{end / timeline.fps:.3f}',
                start, end, 'yes' if ok else 'no', timeline.face_frames[k]
            ]
            row += ([f'{v:.1f}' for v in box] if box else [''] * 4)
            if ok:
                probs = timeline.probs[k]
                row += [tops[k], f'{probs.max():.6f}']
                row += [f'{p:.6f}' for p in probs]
            else:
                row += [''] * (2 + len(timeline.class_names))
            writer.writerow(row)
    return path


def plot_timeline(timeline: Timeline, path: str) -> str:
    """Draw class probabilities over time and the top class per window.

    Upper panel: one line per class (probability at each window's centre
    time). Lower panel: the top class of every window as a coloured bar
    over the window's stride; grey hatching where there was no face.

    Args:
        timeline (Timeline): From :func:`video_timeline`.
        path (str): Output image (``.png``).

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    names = timeline.class_names
    colours = plt.get_cmap('tab20' if len(names) > 10 else 'tab10')
    centres = np.array([(s + e) / 2 / timeline.fps
                        for s, e in timeline.windows])
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(10, 5),
        sharex=True,
        gridspec_kw=dict(height_ratios=[3, 1]))
    for k, name in enumerate(names):
        top.plot(
            centres,
            timeline.probs[:, k],
            color=colours(k),
            label=name,
            marker='.',
            linewidth=1.5)
    top.set_ylim(0, 1)
    top.set_ylabel('probability')
    top.legend(loc='upper left', bbox_to_anchor=(1.0, 1.0), fontsize=8)
    top.set_title(f'{osp.basename(timeline.video)}: expression over time')
    duration = timeline.num_frames / timeline.fps
    edges = np.concatenate([[0.0], (centres[1:] + centres[:-1]) / 2,
                            [duration]])
    tops = timeline.top_class()
    for k, cls in enumerate(tops):
        left, width = edges[k], edges[k + 1] - edges[k]
        if cls is None:
            bottom.barh(
                0,
                width,
                left=left,
                color='lightgrey',
                hatch='//',
                edgecolor='grey')
        else:
            bottom.barh(0, width, left=left, color=colours(names.index(cls)))
    run_start = 0
    for k in range(1, len(tops) + 1):
        if k < len(tops) and tops[k] == tops[run_start]:
            continue
        left, right = edges[run_start], edges[k]
        if right - left >= 0.06 * duration:
            bottom.text(
                (left + right) / 2,
                0,
                tops[run_start] or 'no face',
                ha='center',
                va='center',
                fontsize=8)
        run_start = k
    bottom.set_yticks([])
    bottom.set_ylabel('top class')
    bottom.set_xlabel('time (s)')
    bottom.set_xlim(0, duration)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _annotate(frame: np.ndarray, box: Optional[Sequence[float]],
              label: Optional[Tuple[str, float]]) -> np.ndarray:
    """Draw the face box and the current top class on an RGB frame."""
    out = frame.copy()
    height, width = out.shape[:2]
    thick = max(1, round(min(height, width) / 200))
    scale = max(0.4, min(height, width) / 500)
    if box is not None:
        x1, y1, x2, y2 = [int(round(v)) for v in box]
        cv2.rectangle(out, (x1, y1), (x2, y2), (0, 255, 0), thick)
    text = f'{label[0]} {label[1]:.2f}' if label else 'no face'
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale,
                                     thick)
    cv2.rectangle(out, (0, 0), (tw + 8, th + base + 8), (0, 0, 0), -1)
    cv2.putText(out, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), thick, cv2.LINE_AA)
    return out


def write_annotated_video(timeline: Timeline,
                          path: str,
                          progress: bool = True) -> str:
    """Every source frame with the tracked face box and the top class.

    Written as H.264 (yuv420p) with
    :func:`mmstt.datasets.video_io.write_video`, at the source frame rate.

    Args:
        timeline (Timeline): From :func:`video_timeline`.
        path (str): Output video (``.mp4``).
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        str: ``path``.
    """
    labels = timeline.frame_labels()
    boxes = timeline.track.boxes if timeline.track is not None else \
        [None] * timeline.num_frames

    def frames():
        reader = VideoReader(timeline.video, cache_bytes=0)
        for i, frame in enumerate(
                tqdm(
                    reader.iter_frames(),
                    total=timeline.num_frames,
                    desc='writing video',
                    unit='frame',
                    disable=not progress,
                    leave=False)):
            if i >= timeline.num_frames:
                break
            yield _annotate(frame, boxes[i], labels[i])

    return write_video(path, frames(), timeline.fps)


def write_timeline(timeline: Timeline,
                   out_dir: str,
                   progress: bool = True) -> Dict[str, str]:
    """Write ``timeline.csv``, ``timeline.png`` and ``annotated.mp4``.

    Args:
        timeline (Timeline): From :func:`video_timeline`.
        out_dir (str): Output folder (created).
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: ``csv``, ``png`` and ``video`` paths.
    """
    os.makedirs(out_dir, exist_ok=True)
    return dict(
        csv=write_timeline_csv(timeline, osp.join(out_dir, 'timeline.csv')),
        png=plot_timeline(timeline, osp.join(out_dir, 'timeline.png')),
        video=write_annotated_video(timeline, osp.join(out_dir,
                                                       'annotated.mp4'),
                                    progress))
