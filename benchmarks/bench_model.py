# Copyright (c) OpenMMLab. All rights reserved.
"""Sections a and b: whole-model inference and training-step throughput."""
from typing import Callable, Dict

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from .precision import PRECISIONS, autocast_ctx
from .timing import time_interleaved

__all__ = [
    'inference_step', 'training_step', 'bench_inference', 'bench_training'
]


def inference_step(model: nn.Module, data: dict, device: torch.device,
                   precision: str) -> Callable[[], list]:
    """Return a callable running the product's inference path once.

    ``model.test_step`` = data preprocessor (uint8 -> float, /255) +
    ``predict`` (backbone, neck, head, softmax, data samples).

    Args:
        model (nn.Module): Recognizer in eval mode.
        data (dict): Packed batch (``inputs``, ``data_samples``).
        device (torch.device): Device of the model.
        precision (str): ``'fp32'`` or ``'bf16'``.

    Returns:
        Callable: Runs one inference step, returns the data samples.
    """

    def run() -> list:
        with torch.inference_mode(), autocast_ctx(device, precision):
            return model.test_step(data)

    return run


def training_step(model: nn.Module, optim_wrapper: OptimWrapper, data: dict,
                  device: torch.device,
                  precision: str) -> Callable[[], Dict[str, torch.Tensor]]:
    """Return a callable running one training step.

    Same steps as ``BaseModel.train_step`` (preprocess, ``loss`` forward,
    ``parse_losses``, backward, optimizer step, zero grad) with the forward
    under autocast for bf16; the backward runs outside autocast, as
    PyTorch recommends. (mmengine's ``AmpOptimWrapper`` refuses CPU, so this
    is done by hand.)

    Args:
        model (nn.Module): Recognizer (put in train mode by the callable).
        optim_wrapper (OptimWrapper): Optimizer wrapper.
        data (dict): Packed batch.
        device (torch.device): Device of the model.
        precision (str): ``'fp32'`` or ``'bf16'``.

    Returns:
        Callable: Runs one step and returns the parsed log variables.
    """

    def run() -> Dict[str, torch.Tensor]:
        model.train()
        with optim_wrapper.optim_context(model):
            batch = model.data_preprocessor(data, True)
            with autocast_ctx(device, precision):
                losses = model._run_forward(batch, mode='loss')
        parsed, log_vars = model.parse_losses(losses)
        optim_wrapper.update_params(parsed)
        return log_vars

    return run


def bench_inference(model: nn.Module, data: dict, device: torch.device,
                    warmup: int, repeats: int) -> Dict[str, object]:
    """Inference throughput per precision, measured side by side.

    Args:
        model (nn.Module): Recognizer.
        data (dict): Packed batch.
        device (torch.device): Device.
        warmup (int): Untimed steps per precision.
        repeats (int): Timed interleaved rounds.

    Returns:
        dict: Per precision ``clips_per_s`` and timing summary, plus
        ``bf16_speedup`` (fp32 time / bf16 time).
    """
    model.eval()
    batch = len(data['inputs'])
    fns = {p: inference_step(model, data, device, p) for p in PRECISIONS}
    timings = time_interleaved(fns, warmup, repeats, device)
    out: Dict[str, object] = {}
    for p, t in timings.items():
        out[p] = dict(clips_per_s=batch / t['median_s'], **t)
    out['bf16_speedup'] = (
        timings['fp32']['median_s'] / timings['bf16']['median_s'])
    out['batch'] = batch
    return out


def bench_training(model: nn.Module, data: dict, device: torch.device,
                   warmup: int, repeats: int) -> Dict[str, object]:
    """Training-step throughput per precision, measured side by side.

    Args:
        model (nn.Module): Recognizer (weights change; use a copy if the
            caller needs the original).
        data (dict): Packed batch.
        device (torch.device): Device.
        warmup (int): Untimed steps per precision.
        repeats (int): Timed interleaved rounds.

    Returns:
        dict: Per precision ``clips_per_s``, timing summary and the last
        loss, plus ``bf16_speedup``.
    """
    optim = torch.optim.SGD(
        model.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)
    wrapper = OptimWrapper(optim)
    batch = len(data['inputs'])
    last: Dict[str, dict] = {}

    def recorded(precision: str) -> Callable[[], None]:
        step = training_step(model, wrapper, data, device, precision)

        def run() -> None:
            last[precision] = step()

        return run

    fns = {p: recorded(p) for p in PRECISIONS}
    timings = time_interleaved(fns, warmup, repeats, device)
    out: Dict[str, object] = {}
    for p, t in timings.items():
        out[p] = dict(
            clips_per_s=batch / t['median_s'],
            loss=float(last[p]['loss'].detach()),
            **t)
    out['bf16_speedup'] = (
        timings['fp32']['median_s'] / timings['bf16']['median_s'])
    out['batch'] = batch
    model.eval()
    return out
