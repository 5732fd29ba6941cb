# Copyright (c) OpenMMLab. All rights reserved.
"""Section c: STT's neck against MMAction2's divided space-time attention.

Both necks take the same (B, 256, 16, 7, 7) feature maps and return
(B, 512) clip features: same width (512), tokens (16 frames x 49), heads
(8), depth, MLP ratio, stochastic-depth rates and precision. Forward runs
in eval mode under ``torch.inference_mode``; forward+backward runs in train
mode with a scalar loss and ``backward()``, gradients cleared each time.
"""
from typing import Callable, Dict, Optional

import torch
import torch.nn as nn

from .flops import counted_flops
from .precision import PRECISIONS, autocast_ctx
from .reference import MMActionDividedNeck
from .timing import time_interleaved

__all__ = [
    'forward_fn', 'forward_backward_fn', 'reference_like',
    'bench_neck_vs_reference'
]


def forward_fn(module: nn.Module, x: torch.Tensor, device: torch.device,
               precision: str) -> Callable[[], torch.Tensor]:
    """Return a callable running an inference forward pass.

    Args:
        module (nn.Module): Neck.
        x (torch.Tensor): Input feature maps.
        device (torch.device): Device.
        precision (str): ``'fp32'`` or ``'bf16'``.

    Returns:
        Callable: Runs ``module(x)`` without autograd.
    """

    def run() -> torch.Tensor:
        module.eval()
        with torch.inference_mode(), autocast_ctx(device, precision):
            return module(x)

    return run


def forward_backward_fn(module: nn.Module, x: torch.Tensor,
                        device: torch.device,
                        precision: str) -> Callable[[], None]:
    """Return a callable running forward + backward in train mode.

    Args:
        module (nn.Module): Neck.
        x (torch.Tensor): Input feature maps (no grad needed).
        device (torch.device): Device.
        precision (str): ``'fp32'`` or ``'bf16'`` (autocast forward only).

    Returns:
        Callable: Runs one forward and backward pass.
    """
    params = [p for p in module.parameters() if p.requires_grad]

    def run() -> None:
        module.train()
        for p in params:
            p.grad = None
        with autocast_ctx(device, precision):
            out = module(x)
        out.float().square().mean().backward()

    return run


def reference_like(neck: nn.Module) -> MMActionDividedNeck:
    """Build MMAction2's divided-attention neck with ``neck``'s sizes.

    Args:
        neck (nn.Module): STT's ``SpatioTemporalTransformer``.

    Returns:
        MMActionDividedNeck: Same in/embed dims, frames, tokens, depth,
        heads, MLP width and per-block stochastic depth.
    """
    blocks = list(neck.blocks)
    mlp = blocks[0].mlp
    grid = neck.grid_size
    return MMActionDividedNeck(
        in_channels=neck.in_channels,
        embed_dims=neck.embed_dims,
        num_frames=neck.num_frames,
        num_patches=grid[0] * grid[1],
        depth=len(blocks),
        num_heads=blocks[0].spatial_attn.num_heads,
        mlp_ratio=mlp.fc1.out_features / neck.embed_dims,
        drop_path_rates=[float(b.drop_path) for b in blocks])


def bench_neck_vs_reference(
        neck: nn.Module,
        x: torch.Tensor,
        device: torch.device,
        warmup: int,
        repeats: int,
        extra: Optional[Dict[str, nn.Module]] = None) -> Dict[str, object]:
    """Time STT's neck and the MMAction2 reference side by side.

    Args:
        neck (nn.Module): STT's neck.
        x (torch.Tensor): (B, C, T, h, w) input.
        device (torch.device): Device.
        warmup (int): Untimed calls per candidate.
        repeats (int): Timed interleaved rounds.
        extra (dict[str, nn.Module], optional): More candidates (e.g. the
            diagnosis prototype), reported with their own ratios.

    Returns:
        dict: ``{precision: {mode: {candidate: timing, 'speedup':
        {candidate: reference time / candidate time}}}}`` for modes
        ``forward`` and ``forward_backward``, with ``flop_ratio``
        (reference FLOPs / STT FLOPs), and the counted ``flops`` of each
        candidate and mode. Peak-relative figures (``fraction_of_peak``,
        ``speedup_bound``: the speedup over the reference of an ideal neck
        doing STT's FLOPs at the peak with zero overhead) are added by
        :func:`benchmarks.derived.apply_peaks`.
    """
    torch.manual_seed(0)
    reference = reference_like(neck).to(device)
    candidates = dict(stt=neck, mmaction=reference)
    candidates.update(extra or {})
    with torch.no_grad():
        outs = {k: m.eval()(x).shape for k, m in candidates.items()}
    if len(set(outs.values())) != 1:
        raise RuntimeError(f'neck output shapes differ: {outs}')
    results: Dict[str, object] = dict(
        batch=x.shape[0],
        input_shape=list(x.shape),
        output_shape=list(outs['stt']),
        params=dict((k, sum(p.numel() for p in m.parameters()))
                    for k, m in candidates.items()))
    # FLOPs of the work each candidate actually does (STT may skip work
    # its output does not use), forward and forward+backward.
    flops = {
        mode: {
            k: counted_flops(make(m, x, device, 'fp32'))
            for k, m in candidates.items()
        }
        for mode, make in (('forward', forward_fn), ('forward_backward',
                                                     forward_backward_fn))
    }
    results['flops'] = flops
    for precision in PRECISIONS:
        per_mode = {}
        for mode, make in (('forward', forward_fn), ('forward_backward',
                                                     forward_backward_fn)):
            fns = {
                k: make(m, x, device, precision)
                for k, m in candidates.items()
            }
            timings = time_interleaved(fns, warmup, repeats, device)
            ref = timings['mmaction']['median_s']
            timings['speedup'] = {
                k: ref / t['median_s']
                for k, t in timings.items() if k != 'mmaction'
            }
            timings['flop_ratio'] = \
                flops[mode]['mmaction'] / flops[mode]['stt']
            per_mode[mode] = timings
        results[precision] = per_mode
    for m in candidates.values():
        m.eval()
    return results
