# Copyright (c) OpenMMLab. All rights reserved.
"""Section: training-step throughput, fp32 and bf16 autocast.

One step is what ``BaseModel.train_step`` does (preprocess, loss forward,
``parse_losses``, backward, SGD step, zero grad) with the forward under
autocast for bf16 and the backward outside it, as PyTorch recommends
(mmengine's ``AmpOptimWrapper`` refuses the CPU). With the neck's
``kernel`` option, a copy with ``kernel='reference'`` runs interleaved.
"""
import copy
from typing import Callable, Dict, List

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from .common import (PRECISIONS, autocast, throughput, throughput_row,
                     time_interleaved)

__all__ = ['training_step', 'run', 'rows']


def training_step(model: nn.Module,
                  precision: str) -> Callable[[dict], Dict[str, float]]:
    """A callable that runs one SGD training step of ``model``.

    Args:
        model (nn.Module): Recognizer; its weights change.
        precision (str): ``'fp32'`` or ``'bf16'`` (autocast forward).

    Returns:
        Callable: Takes a packed batch, returns the loss as a float.
    """
    wrapper = OptimWrapper(
        torch.optim.SGD(
            model.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4))

    def step(data: dict) -> float:
        model.train()
        batch = model.data_preprocessor(data, True)
        with autocast(precision):
            losses = model(**batch, mode='loss')
        loss, _ = model.parse_losses(losses)
        wrapper.update_params(loss)
        return float(loss.detach())

    return step


def run(bench) -> Dict[str, object]:
    """Time training steps per precision and kernel choice, side by side.

    Args:
        bench (Bench): The run's state (its model is copied, not trained).

    Returns:
        dict: ``timings`` (``model/<precision>``,
        ``reference/<precision>``), ``clips_per_s``, ``bf16_speedup``,
        ``kernel_gain`` and the last ``loss`` per candidate.
    """
    s, data = bench.settings, bench.data
    models = dict(model=bench.model, reference=bench.reference)
    losses: Dict[str, float] = {}
    fns = {}
    for name, model in models.items():
        for p in PRECISIONS:
            step = training_step(copy.deepcopy(model), p)
            key = f'{name}/{p}'

            def call(step: Callable = step, key: str = key) -> None:
                losses[key] = step(data)

            fns[key] = call
    timings = time_interleaved(fns, s['train_warmup'], s['train_repeats'])
    return dict(
        throughput(timings, len(data['inputs'])), timings=timings, loss=losses)


def rows(results: dict) -> List[List[str]]:
    """Table rows of this section."""
    return [throughput_row('training step', results['training'])]
