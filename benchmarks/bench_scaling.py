# Copyright (c) OpenMMLab. All rights reserved.
"""Section g: how time grows with the number of frames and tokens.

Two sweeps, each timed with all its points interleaved:

* frames: T varies at 112x112 (7x7 = 49 tokens per frame);
* grid: the frame side varies at T = 16 (side / 16 tokens per row, since
  the tokenizer stops at stride 16), so the tokens per frame go
  25, 36, 49, 64, 81 for sides 80..144.

For the whole model (inference, batch B) and for the neck alone, a
least-squares line through (x, milliseconds per clip) gives the cost of
one extra frame (x = T) and of one extra token (x = T * tokens per frame);
``r2`` says how straight the line is (attention is quadratic in the
sequence length, so a bent line means attention, not projections,
dominates).
"""
from typing import Callable, Dict, List, Sequence

import torch
import torch.nn as nn

from .bench_model import inference_step
from .bench_neck import forward_fn
from .model_factory import make_batch, neck_input
from .timing import time_interleaved

__all__ = ['linear_fit', 'sweep']


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> Dict[str, float]:
    """Least-squares line ``y = slope * x + intercept``.

    Args:
        xs (Sequence[float]): At least two distinct x values.
        ys (Sequence[float]): Same length as ``xs``.

    Returns:
        dict: ``slope``, ``intercept`` and ``r2``.
    """
    n = len(xs)
    if n < 2 or n != len(ys):
        raise ValueError('linear_fit needs two or more (x, y) pairs')
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx)**2 for x in xs)
    if sxx == 0:
        raise ValueError('linear_fit needs distinct x values')
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    slope = sxy / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my)**2 for y in ys)
    ss_res = sum((y - slope * x - intercept)**2 for x, y in zip(xs, ys))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return dict(slope=slope, intercept=intercept, r2=r2)


def _fit_points(timings: Dict[str, Dict[str, float]], xs: Dict[str, float],
                batch: int) -> Dict[str, object]:
    """Turn interleaved timings into points and a linear fit."""
    points: List[Dict[str, float]] = []
    for name, t in timings.items():
        points.append(
            dict(
                label=name,
                x=xs[name],
                ms_per_clip=1e3 * t['median_s'] / batch))
    fit = linear_fit([p['x'] for p in points],
                     [p['ms_per_clip'] for p in points])
    return dict(points=points, fit=fit)


def sweep(model: nn.Module,
          neck: nn.Module,
          device: torch.device,
          batch: int,
          frames_list: Sequence[int],
          sides: Sequence[int],
          warmup: int,
          repeats: int,
          precision: str = 'fp32') -> Dict[str, object]:
    """Run the frame and grid sweeps for the model and the neck.

    Args:
        model (nn.Module): Recognizer.
        neck (nn.Module): Its neck (or a copy).
        device (torch.device): Device.
        batch (int): Clips per call.
        frames_list (Sequence[int]): T values (frame side 112).
        sides (Sequence[int]): Frame sides (T = 16); multiples of 16.
        warmup (int): Untimed calls per point.
        repeats (int): Timed rounds.
        precision (str): ``'fp32'`` or ``'bf16'``.

    Returns:
        dict: For ``model`` and ``neck``: ``frames`` and ``tokens`` sweeps
        (points and fit), and the headline slopes ``ms_per_frame`` (per
        clip) and ``ms_per_token`` (per clip, per token of the clip).
    """
    base_t = 16
    results: Dict[str, object] = dict(precision=precision, batch=batch)
    for part in ('model', 'neck'):
        frame_fns: Dict[str, Callable] = {}
        frame_xs: Dict[str, float] = {}
        for t in frames_list:
            name = f'T={t}'
            frame_xs[name] = t
            if part == 'model':
                frame_fns[name] = inference_step(model,
                                                 make_batch(batch, t, 112),
                                                 device, precision)
            else:
                frame_fns[name] = forward_fn(
                    neck, neck_input(neck, batch, device, frames=t), device,
                    precision)
        token_fns: Dict[str, Callable] = {}
        token_xs: Dict[str, float] = {}
        for side in sides:
            grid = side // 16
            name = f'{side}px/{grid}x{grid}'
            token_xs[name] = base_t * grid * grid
            if part == 'model':
                token_fns[name] = inference_step(
                    model, make_batch(batch, base_t, side), device, precision)
            else:
                token_fns[name] = forward_fn(
                    neck, neck_input(neck, batch, device, grid=(grid, grid)),
                    device, precision)
        frames = _fit_points(
            time_interleaved(frame_fns, warmup, repeats, device), frame_xs,
            batch)
        tokens = _fit_points(
            time_interleaved(token_fns, warmup, repeats, device), token_xs,
            batch)
        results[part] = dict(
            frames=frames,
            tokens=tokens,
            ms_per_frame=frames['fit']['slope'],
            ms_per_token=tokens['fit']['slope'])
    return results
