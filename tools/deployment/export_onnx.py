# Copyright (c) OpenMMLab. All rights reserved.
"""Export a trained mmstt recognizer to ONNX and check it with onnxruntime.

The graph takes one input ``clips`` of shape ``(N, 3, T, H, W)``: raw pixel
values 0..255 in the test pipeline's channel order (RGB), with the model's
data preprocessor inside the graph; it returns one output ``scores``, the
softmax class probabilities ``(N, num_classes)``. ``N`` is dynamic; ``T``
and ``H x W`` are fixed (by default the config's test pipeline: 16 frames
at 112x112 for the DFEW configs). The class names (the checkpoint's
``meta['dataset_meta']['classes']``, else the config's data set) go into
the file's metadata.

After the export the file is run in onnxruntime on random clips at two
batch sizes and compared with the PyTorch model; the tool exits with
status 1 when the largest probability difference exceeds ``--tolerance``
(the file is then renamed to ``OUT.onnx.failed``).

Example:
    python tools/deployment/export_onnx.py configs/stt_dfew_fold1.py \\
        work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_*.pth \\
        --output-file stt_dfew_fold1.onnx
"""
import argparse
import sys
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import mmstt  # noqa: F401  (stack repairs and registration)
from mmstt.apis import resolve_checkpoint
from mmstt.apis.onnx_export import (DEFAULT_TOLERANCE, ONNXCheckError,
                                    check_onnx, config_class_names,
                                    export_onnx, input_spec)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Export an mmstt recognizer to ONNX (input "clips" '
        '(N, 3, T, H, W) raw 0..255, output "scores" class probabilities, '
        'dynamic N, class names in the metadata) and check it against '
        'PyTorch with onnxruntime.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint (or a glob of one)')
    parser.add_argument(
        '--output-file', default='tmp.onnx', help='the .onnx file to write')
    parser.add_argument(
        '--opset',
        type=int,
        default=18,
        help='ONNX opset version (18 or later)')
    parser.add_argument(
        '--num-frames',
        type=int,
        default=None,
        help='frames T per clip (default: the test pipeline\'s clip_len)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=None,
        help='frame size "H W" or "S" for S x S (default: the test '
        'pipeline\'s resize)')
    parser.add_argument(
        '--batch-sizes',
        type=int,
        nargs='+',
        default=[1, 3],
        help='batch sizes of the onnxruntime check')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=DEFAULT_TOLERANCE,
        help='largest accepted probability difference of the check')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--skip-verify',
        action='store_true',
        help='export without the onnxruntime check')
    group.add_argument(
        '--verify-only',
        action='store_true',
        help='do not export: check an existing --output-file against the '
        'checkpoint (e.g. after copying it or with another onnxruntime)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. model.cls_head.num_classes=11')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error('--shape takes "H W" or one size')
    if args.opset < 18:
        parser.error('--opset must be 18 or later (dynamo exporter)')
    if min(args.batch_sizes) < 1:
        parser.error('--batch-sizes must be positive')
    return args


def load_checkpoint_strict(model: torch.nn.Module, filename: str) -> dict:
    """Load every weight of ``filename`` into ``model``; return its meta.

    Args:
        model (nn.Module): The freshly built recognizer.
        filename (str): Checkpoint file (torch's ``weights_only`` loader).

    Returns:
        dict: The checkpoint's ``meta`` (empty if it has none).
    """
    try:
        from mmstt.engine import load_checkpoint_strict as engine_load
    except ImportError:
        engine_load = None
    if engine_load is not None:
        return engine_load(model, filename, map_location='cpu') or {}
    from mmengine.runner import load_checkpoint
    checkpoint = load_checkpoint(
        model, filename, map_location='cpu', strict=True)
    return checkpoint.get('meta', None) or {}


def class_names_of(meta: dict, cfg: Config) -> Optional[List[str]]:
    """Class names: the checkpoint's data set meta, else the config's."""
    names = (meta.get('dataset_meta', None) or {}).get('classes', None)
    if names:
        return list(names)
    return config_class_names(cfg)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Export and check.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        int: 0 on success, 1 when the check fails.
    """
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    from mmaction.registry import MODELS
    model = MODELS.build(cfg.model)
    checkpoint = resolve_checkpoint(args.checkpoint)
    meta = load_checkpoint_strict(model, checkpoint)
    model.eval()
    names = class_names_of(meta, cfg)
    frames, size = input_spec(cfg)
    frames = args.num_frames or frames
    if args.shape is not None:
        size = tuple(args.shape) * (3 - len(args.shape))
    try:
        if args.verify_only:
            print(f'checking {args.output_file} against {checkpoint}')
            diffs = check_onnx(model, args.output_file, args.batch_sizes,
                               args.tolerance)
        else:
            print(f'exporting {checkpoint} to {args.output_file} '
                  f'(clips N x 3 x {frames} x {size[0]} x {size[1]}, opset '
                  f'{args.opset})')
            result = export_onnx(
                model,
                cfg,
                args.output_file,
                num_frames=frames,
                shape=size,
                opset=args.opset,
                class_names=names,
                verify=not args.skip_verify,
                batch_sizes=args.batch_sizes,
                tolerance=args.tolerance)
            diffs = result['max_diff']
            print(f'written: {args.output_file} ({result["num_classes"]} '
                  f'classes: {", ".join(result["class_names"])})')
    except ONNXCheckError as exc:
        print(f'FAILED: {exc}', file=sys.stderr)
        return 1
    for n, diff in diffs.items():
        print(f'batch {n}: max |onnxruntime - PyTorch| probability '
              f'difference {diff:.3g} (tolerance {args.tolerance:g})')
    if diffs:
        print('check passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
