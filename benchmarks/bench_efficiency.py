# Copyright (c) OpenMMLab. All rights reserved.
"""Section d: achieved GFLOP/s of the model and its parts vs matmul peak.

FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` over
the work that runs (convolutions, linear layers, attention products, 2
FLOPs per multiply-add) and cross-checked with the closed-form count of
:mod:`benchmarks.flops`. Each
part's achieved rate is its FLOPs over its median time; the ratios to the
GEMM peaks measured in the same run are computed by
:func:`benchmarks.derived.apply_peaks`.
"""
from typing import Dict

import torch
import torch.nn as nn

from .flops import counted_flops, stt_flops
from .precision import PRECISIONS, autocast_ctx
from .timing import time_interleaved

__all__ = ['model_flops', 'bench_components']


def model_flops(model: nn.Module, batch: int, frames: int,
                size: int) -> Dict[str, int]:
    """Analytic FLOPs of one forward pass of ``model`` over a batch.

    Args:
        model (nn.Module): STT recognizer (sizes are read from it).
        batch (int): Clips.
        frames (int): Frames per clip.
        size (int): Frame side.

    Returns:
        dict[str, int]: ``backbone``, ``neck``, ``head``, ``total``.
    """
    neck = model.neck
    extra = 1 if getattr(neck, 'output', 'mean') == 'cls' else 0
    blocks = list(neck.blocks)
    return stt_flops(
        batch,
        frames,
        size,
        size,
        out_stage=model.backbone.out_stage,
        in_channels=neck.in_channels,
        dims=neck.embed_dims,
        depth=len(blocks),
        num_classes=_num_classes(model),
        spatial_extra=extra,
        temporal_extra=extra)


def _num_classes(model: nn.Module) -> int:
    """``num_classes`` of the head."""
    return int(getattr(model.cls_head, 'num_classes', 7))


def bench_components(model: nn.Module, x: torch.Tensor, device: torch.device,
                     warmup: int, repeats: int) -> Dict[str, object]:
    """Time the backbone and the neck of ``model`` alone, per precision.

    Args:
        model (nn.Module): Recognizer.
        x (torch.Tensor): Preprocessed clips (B, 3, T, H, W), float.
        device (torch.device): Device.
        warmup (int): Untimed calls.
        repeats (int): Timed rounds.

    Returns:
        dict: ``{precision: {'backbone': timing, 'neck': timing}}`` and
        ``flops_counted`` of each part.
    """
    model.eval()
    b, _, t, h, w = x.shape
    with torch.inference_mode():
        feats = model.backbone(x)
    fns = {}
    for precision in PRECISIONS:

        def run_backbone(p: str = precision) -> None:
            with torch.inference_mode(), autocast_ctx(device, p):
                model.backbone(x)

        def run_neck(p: str = precision) -> None:
            with torch.inference_mode(), autocast_ctx(device, p):
                model.neck(feats)

        fns[f'backbone/{precision}'] = run_backbone
        fns[f'neck/{precision}'] = run_neck
    timings = time_interleaved(fns, warmup, repeats, device)
    with torch.inference_mode():
        counted = dict(
            backbone=counted_flops(lambda: model.backbone(x)),
            neck=counted_flops(lambda: model.neck(feats)))
    out: Dict[str, object] = dict(flops_counted=counted, batch=b)
    for precision in PRECISIONS:
        out[precision] = dict(
            backbone=timings[f'backbone/{precision}'],
            neck=timings[f'neck/{precision}'])
    return out
