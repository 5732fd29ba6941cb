# Copyright (c) OpenMMLab. All rights reserved.
"""Draw where an STT model looks: spatial and temporal attention of a clip.

INPUT (a video file or a folder of frames, optionally cropped to the face
with ``--detect-face``) goes through the config's test pipeline and the
model once; the attention weights are recomputed from the inputs of the
attention modules (see :mod:`mmstt.apis.attention_maps`) and checked
against the model's own output. Written to ``--out``:

- ``spatial_attention.png``: one column per sampled frame; the first row
  shows the frames, the second the class token's attention **rolled out
  over all blocks** (the default view), then one row per block; heads are
  combined by their mean (``--head-fusion``), maps are upsampled
  (bilinear) from the token grid and overlaid on the frames;
- ``temporal_attention.png``: per block the ``T x T`` attention between
  frames at the class token's position (rows: query frame);
- ``attention_maps.npz``: the maps as arrays.

Example:
    python tools/analysis/visualize_attention.py configs/stt_dfew_fold1.py \\
        work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_*.pth \\
        data/dfew/Clip/clip_224x224/00001 --out work_dirs/attention
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate

import mmstt  # noqa: F401  (stack repairs and registration)
from mmstt.apis import (build_inference_pipeline, class_names_of,
                        default_device, init_recognizer, read_clip_frames)
from mmstt.apis.attention_maps import AttentionMaps, compute_attention_maps

#: Largest accepted |recomputed - actual| attention output, relative to
#: the largest output value when that exceeds 1.
CHECK_TOLERANCE = 1e-5


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Write PNG grids of the class token\'s spatial '
        'attention (rolled out over the blocks and per block, overlaid on '
        'the sampled frames) and of the temporal attention between frames '
        'for one clip.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint (or a glob of one)')
    parser.add_argument('input', help='video file or folder of frames')
    parser.add_argument(
        '--out', required=True, help='folder for the PNG grids')
    parser.add_argument(
        '--detect-face',
        action='store_true',
        help='crop every frame to the tracked face first '
        '(mmstt.apis.face_detection); for whole frames, not face crops')
    parser.add_argument(
        '--face-detector',
        default='haar',
        help='detector of --detect-face: haar (OpenCV, built in) or yunet')
    parser.add_argument(
        '--face-size', type=int, default=224, help='side of the face crops')
    parser.add_argument(
        '--head-fusion',
        choices=('mean', 'max'),
        default='mean',
        help='how the attention heads are combined')
    parser.add_argument(
        '--alpha',
        type=float,
        default=0.5,
        help='opacity of the attention overlay')
    parser.add_argument(
        '--device',
        default=default_device(),
        help='cpu, cuda or cuda:N (default: cuda:0 if available, else cpu)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. model.neck.depth=2')
    args = parser.parse_args(argv)
    if not 0 <= args.alpha <= 1:
        parser.error('--alpha must lie in [0, 1]')
    return args


def crop_faces(frames: List[np.ndarray], detector: str,
               size: int) -> List[np.ndarray]:
    """Crop frames to the tracked face (frames without a face are dropped).

    Args:
        frames (list[np.ndarray]): RGB frames.
        detector (str): Detector name of
            :func:`mmstt.apis.build_face_detector`.
        size (int): Side of the crops.

    Returns:
        list[np.ndarray]: RGB crops ``(size, size, 3)``.
    """
    from mmstt.apis import build_face_detector, crop_face, detect_and_track
    track = detect_and_track(
        frames, build_face_detector(detector), progress=True)
    crops = [
        crop_face(f, box, 0.2, size) for f, box in zip(frames, track.boxes)
        if box is not None
    ]
    if not crops:
        raise SystemExit('--detect-face: no face found in any frame')
    print(f'face crops: {len(crops)}/{len(frames)} frames')
    return crops


def overlay(frame: np.ndarray,
            attn: np.ndarray,
            alpha: float,
            vmax: Optional[float] = None) -> np.ndarray:
    """A frame with an attention map drawn over it.

    Args:
        frame (np.ndarray): RGB uint8 ``(H, W, 3)``.
        attn (np.ndarray): ``(h, w)`` map.
        alpha (float): Opacity of the map.
        vmax (float, optional): Value drawn as the hottest colour (shared
            by the frames of a row, so they compare). Defaults to None
            (the map's maximum).

    Returns:
        np.ndarray: RGB uint8 ``(H, W, 3)``, the map in the jet colour map
        from 0 to ``vmax``, upsampled bilinearly to the frame.
    """
    height, width = frame.shape[:2]
    up = cv2.resize(
        attn.astype(np.float32), (width, height),
        interpolation=cv2.INTER_LINEAR)
    vmax = float(attn.max()) if vmax is None else float(vmax)
    up = np.clip(up / max(vmax, 1e-12), 0, 1)
    heat = cv2.applyColorMap((up * 255).astype(np.uint8), cv2.COLORMAP_JET)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(frame, 1 - alpha, heat, alpha, 0)


def save_figure(fig, path: str, dpi: int = 80) -> None:
    """Save a matplotlib figure as a palette PNG (small files).

    Args:
        fig (matplotlib.figure.Figure): The figure.
        path (str): PNG file.
        dpi (int): Resolution. Defaults to 80.
    """
    from PIL import Image
    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    image = Image.fromarray(np.ascontiguousarray(rgb))
    image.quantize(
        colors=256, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True)


def plot_spatial(path: str, frames: np.ndarray, maps: AttentionMaps,
                 alpha: float, title: str) -> None:
    """Write the spatial grid (frames, rollout, one row per block).

    Args:
        path (str): PNG file.
        frames (np.ndarray): ``(T, H, W, 3)`` RGB frames the model saw.
        maps (AttentionMaps): Maps of one clip (batch of 1).
        alpha (float): Overlay opacity.
        title (str): Figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [('frames', None), ('rollout', maps.rollout[0])]
    rows += [(f'block {i + 1}', m) for i, m in enumerate(maps.spatial[0])]
    t = frames.shape[0]
    fig, axes = plt.subplots(
        len(rows),
        t,
        figsize=(1.2 * t + 0.8, 1.25 * len(rows) + 0.6),
        squeeze=False)
    num_tokens = maps.grid[0] * maps.grid[1]
    for r, (name, attn) in enumerate(rows):
        if attn is not None:
            # Colour scale shared by the row; its top relative to uniform
            # attention (1 / grid size) tells how peaked the maps are.
            vmax = float(attn.max())
            name = f'{name}\npeak {vmax * num_tokens:.1f}x uniform'
        for i in range(t):
            ax = axes[r][i]
            img = frames[i] if attn is None else overlay(
                frames[i], attn[i], alpha, vmax)
            ax.imshow(img)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f't={i}', fontsize=8)
            if i == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def plot_temporal(path: str, maps: AttentionMaps, title: str) -> None:
    """Write the temporal heat maps, one per block.

    Args:
        path (str): PNG file.
        maps (AttentionMaps): Maps of one clip with temporal attention.
        title (str): Figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    temporal = maps.temporal[0]
    depth, t = temporal.shape[0], temporal.shape[1]
    fig, axes = plt.subplots(
        1, depth, figsize=(3.0 * depth + 0.6, 3.3), squeeze=False)
    for i in range(depth):
        ax = axes[0][i]
        im = ax.imshow(temporal[i], vmin=0, cmap='viridis')
        ax.set_title(f'block {i + 1}', fontsize=9)
        ax.set_xlabel('key frame', fontsize=8)
        ax.set_ylabel('query frame', fontsize=8)
        ax.set_xticks(range(0, t, max(1, t // 8)))
        ax.set_yticks(range(0, t, max(1, t // 8)))
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> AttentionMaps:
    """Run the tool.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        AttentionMaps: The maps of the clip.
    """
    args = parse_args(argv)
    frames = read_clip_frames(args.input)
    if args.detect_face:
        frames = crop_faces(frames, args.face_detector, args.face_size)
    model = init_recognizer(
        args.config,
        args.checkpoint,
        device=args.device,
        cfg_options=args.cfg_options)
    cfg = model.cfg
    pipeline_cfg = cfg.get('test_pipeline', None) or \
        cfg.test_dataloader.dataset.pipeline
    pipeline = build_inference_pipeline(pipeline_cfg)
    packed = pipeline(
        dict(
            all_frames=frames,
            total_frames=len(frames),
            start_index=0,
            label=-1,
            modality='RGB',
            frame_dir=args.input))
    # (V, 3, T, H, W): the first view, as the model sees it.
    packed['inputs'] = packed['inputs'][:1]
    maps = compute_attention_maps(
        model, pseudo_collate([packed]), head_fusion=args.head_fusion)
    tolerance = CHECK_TOLERANCE * max(1., maps.output_scale)
    if maps.max_output_diff > tolerance:
        raise SystemExit(
            'the recomputed attention does not reproduce the model '
            f'(max difference {maps.max_output_diff:.3g} > '
            f'{tolerance:.3g}); maps not written')
    # (3, T, H, W) -> (T, H, W, 3), uint8 RGB as the pipeline made them.
    clip = packed['inputs'][0].numpy().transpose(1, 2, 3, 0)
    clip = np.clip(clip, 0, 255).astype(np.uint8)
    names = class_names_of(model, maps.scores.shape[1])
    scores = maps.scores[0]
    top = int(np.argmax(scores))
    what = 'class-token attention' if maps.has_cls_token else \
        'attention received (mean over queries; no class token)'
    title = (f'{osp.basename(osp.normpath(args.input))}: {names[top]} '
             f'({scores[top]:.2f}); {what}; heads: {args.head_fusion}')
    os.makedirs(args.out, exist_ok=True)
    written = [osp.join(args.out, 'spatial_attention.png')]
    plot_spatial(written[0], clip, maps, args.alpha, title)
    if maps.temporal is not None:
        written.append(osp.join(args.out, 'temporal_attention.png'))
        plot_temporal(written[-1], maps, title)
    arrays = dict(
        spatial=maps.spatial[0], rollout=maps.rollout[0], scores=scores)
    if maps.temporal is not None:
        arrays['temporal'] = maps.temporal[0]
    written.append(osp.join(args.out, 'attention_maps.npz'))
    np.savez(written[-1], **arrays)
    print(f'input: {args.input} ({len(frames)} frames, {clip.shape[0]} '
          f'sampled, token grid {maps.grid[0]}x{maps.grid[1]})')
    print(f'prediction: {names[top]} ({scores[top]:.4f})')
    print(f'recomputed attention matches the model to '
          f'{maps.max_output_diff:.2g} (largest output value '
          f'{maps.output_scale:.3g})')
    for path in written:
        print(f'written: {path}')
    return maps


if __name__ == '__main__':
    main()
    sys.exit(0)
