# Copyright (c) OpenMMLab. All rights reserved.
"""Classify the facial expression of one clip and optionally draw it.

INPUT is a video file or a folder of frames (any numeric naming). With
``--detect-face`` each frame is first cropped to the face with the
Haar-cascade code of ``tools/data/afew/extract_faces.py`` (largest face,
gaps filled from the nearest frame, boxes smoothed over time), as the AFEW
training data was prepared. The clip then goes through the config's test
pipeline (frame sampling, resize) and the model; the top-k expressions
and all class probabilities are printed. ``--out`` writes the prediction
as an image (``.png``/``.jpg``: a frame beside a probability bar chart) or
a video (``.mp4``/``.avi``: every frame beside the chart).

Example:
    python tools/demo.py data/dfew/Clip/clip_224x224/00001 \
        configs/stt_dfew_fold1.py work_dirs/stt_dfew_fold1/best_*.pth \
        --topk 3 --out pred.png
"""
import argparse
import importlib.util
import os
import os.path as osp
import sys
from types import ModuleType
from typing import Callable, List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.config import DictAction

import mmstt  # noqa: F401  (stack repairs and registration)
from mmstt.apis import (default_device, inference_recognizer, init_recognizer,
                        read_clip_frames)
from mmstt.datasets import DFER_CLASSES

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
IMAGE_OUT = ('.png', '.jpg', '.jpeg', '.bmp')
VIDEO_OUT = {'.mp4': 'mp4v', '.avi': 'MJPG'}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Predict the facial expression of a clip (video file '
        'or frame folder) with a trained mmstt model; print the top-k '
        'classes and every class probability.')
    parser.add_argument('input', help='video file or folder of frames')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint (or a glob of one)')
    parser.add_argument(
        '--device',
        default=default_device(),
        help='cpu, cuda or cuda:N (default: cuda:0 if available, else cpu)')
    parser.add_argument(
        '--topk', type=int, default=3, help='classes to list (default 3)')
    parser.add_argument(
        '--detect-face',
        action='store_true',
        help='crop every frame to the detected face first (OpenCV Haar '
        'cascade, as tools/data/afew/extract_faces.py); use for whole '
        'frames, not for clips that are face crops already')
    parser.add_argument(
        '--out',
        help='write the prediction: .png/.jpg (a frame and a probability '
        'bar chart) or .mp4/.avi (every frame with the chart)')
    parser.add_argument(
        '--fps',
        type=float,
        default=None,
        help='frame rate of a video --out (default: the input\'s, else 25)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. model.neck.depth=2')
    args = parser.parse_args(argv)
    if args.topk < 1:
        parser.error('--topk must be at least 1')
    if args.out is not None:
        ext = osp.splitext(args.out)[1].lower()
        if ext not in IMAGE_OUT and ext not in VIDEO_OUT:
            parser.error(f'--out must end with one of '
                         f'{", ".join(IMAGE_OUT + tuple(VIDEO_OUT))}')
    return args


def load_extract_faces() -> ModuleType:
    """Import ``tools/data/afew/extract_faces.py`` (not a package)."""
    path = osp.join(ROOT, 'tools', 'data', 'afew', 'extract_faces.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing; --detect-face needs it')
    spec = importlib.util.spec_from_file_location('mmstt_extract_faces', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_face_cropper(
        size: int = 224) -> Callable[[List[np.ndarray]], List[np.ndarray]]:
    """Face cropper with the settings of the AFEW extraction tool.

    Args:
        size (int): Side of the square crops. Defaults to 224.

    Returns:
        callable: Maps RGB frames to RGB face crops ``(size, size, 3)``.
        When no frame holds a face, the frames are returned unchanged and a
        warning is printed.
    """
    tool = load_extract_faces()
    opts = tool.parse_args(['-', '-', '--size', str(size)])
    cascade = tool.load_cascade(opts.cascade)

    def crop(frames: List[np.ndarray]) -> List[np.ndarray]:
        boxes = [
            tool.detect_face(
                cv2.cvtColor(f, cv2.COLOR_RGB2BGR), cascade, opts.scale_factor,
                opts.min_neighbors, opts.min_face, opts.detect_side)
            for f in frames
        ]
        found = sum(b is not None for b in boxes)
        if found == 0:
            print(
                'warning: --detect-face found no face in any frame; '
                'classifying the whole frames',
                file=sys.stderr)
            return frames
        print(f'face found in {found}/{len(frames)} frames')
        used = tool.fill_and_smooth(boxes, opts.smooth)
        return [
            tool.crop_face(f, b, opts.margin, opts.size)
            for f, b in zip(frames, used)
        ]

    return crop


def to_probabilities(scores: np.ndarray) -> np.ndarray:
    """Scores as probabilities (softmax unless they already are).

    Args:
        scores (np.ndarray): ``(num_classes,)`` scores.

    Returns:
        np.ndarray: Non-negative values summing to 1.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.min() >= 0 and abs(scores.sum() - 1.0) < 1e-3:
        return scores / scores.sum()
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


def render_chart(probs: np.ndarray, names: Sequence[str],
                 height: int) -> np.ndarray:
    """Horizontal bar chart of the class probabilities.

    Args:
        probs (np.ndarray): ``(num_classes,)`` probabilities.
        names (Sequence[str]): Class names.
        height (int): Output height in pixels.

    Returns:
        np.ndarray: RGB uint8 image ``(height, W, 3)``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.0, 3.0), dpi=100)
    order = np.arange(len(names))[::-1]
    colors = [('tab:red' if i == int(np.argmax(probs)) else 'tab:blue')
              for i in order]
    ax.barh([names[i] for i in order], probs[order], color=colors)
    for y, i in enumerate(order):
        ax.text(
            min(probs[i] + 0.02, 0.8),
            y,
            f'{probs[i]:.2f}',
            va='center',
            fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel('probability')
    ax.set_title(f'{names[int(np.argmax(probs))]} '
                 f'({probs.max():.2f})')
    fig.tight_layout()
    fig.canvas.draw()
    chart = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    scale = height / chart.shape[0]
    return cv2.resize(
        chart, (max(1, round(chart.shape[1] * scale)), height),
        interpolation=cv2.INTER_AREA)


def compose(frame: np.ndarray, chart: np.ndarray) -> np.ndarray:
    """A frame (resized to the chart's height) left of the chart (RGB)."""
    height = chart.shape[0]
    scale = height / frame.shape[0]
    frame = cv2.resize(frame, (max(1, round(frame.shape[1] * scale)), height))
    return np.concatenate([frame, chart], axis=1)


def write_output(path: str, frames: List[np.ndarray], probs: np.ndarray,
                 names: Sequence[str], fps: float) -> None:
    """Write the prediction image or video.

    Args:
        path (str): ``.png``/``.jpg``/``.jpeg``/``.bmp`` or ``.mp4``/``.avi``.
        frames (list[np.ndarray]): The (face-cropped) RGB frames.
        probs (np.ndarray): Class probabilities.
        names (Sequence[str]): Class names.
        fps (float): Frame rate of a video output.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    chart = render_chart(probs, names, height=300)
    ext = osp.splitext(path)[1].lower()
    if ext in IMAGE_OUT:
        panel = compose(frames[len(frames) // 2], chart)
        if not cv2.imwrite(path, cv2.cvtColor(panel, cv2.COLOR_RGB2BGR)):
            raise OSError(f'cannot write {path}')
        return
    first = compose(frames[0], chart)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*VIDEO_OUT[ext]),
                             fps, (first.shape[1], first.shape[0]))
    if not writer.isOpened():
        raise OSError(f'cannot open a video writer for {path}')
    try:
        for frame in frames:
            panel = compose(frame, chart)
            if panel.shape != first.shape:
                panel = cv2.resize(panel, (first.shape[1], first.shape[0]))
            writer.write(cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def input_fps(path: str) -> Optional[float]:
    """Frame rate stored in a video file, None for folders or unknown."""
    if osp.isdir(path):
        return None
    cap = cv2.VideoCapture(path)
    try:
        fps = cap.get(cv2.CAP_PROP_FPS)
    finally:
        cap.release()
    return float(fps) if fps and fps > 0 else None


def main(argv: Optional[Sequence[str]] = None) -> np.ndarray:
    """Run the demo.

    Args:
        argv (Sequence[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        np.ndarray: The class probabilities, ``(num_classes,)``.
    """
    args = parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit(f'--device {args.device}: CUDA is not available')
    frames = read_clip_frames(args.input)
    if args.detect_face:
        frames = build_face_cropper()(frames)
    model = init_recognizer(
        args.config,
        args.checkpoint,
        device=args.device,
        cfg_options=args.cfg_options)
    result = inference_recognizer(model, frames)
    probs = to_probabilities(result.pred_score.detach().cpu().numpy())
    names = (
        list(DFER_CLASSES) if len(probs) == len(DFER_CLASSES) else
        [f'class_{i}' for i in range(len(probs))])

    print(f'input: {args.input} ({len(frames)} frames)')
    print(f'top-{min(args.topk, len(probs))} expressions:')
    for rank, i in enumerate(np.argsort(-probs)[:args.topk], 1):
        print(f'  {rank}. {names[i]:<10s} {probs[i]:.4f}')
    print('probabilities:')
    for name, p in zip(names, probs):
        print(f'  {name:<10s} {p:.6f}')
    if args.out is not None:
        fps = args.fps or input_fps(args.input) or 25.0
        write_output(args.out, frames, probs, names, fps)
        print(f'written: {args.out}')
    return probs


if __name__ == '__main__':
    main()
