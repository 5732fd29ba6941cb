# Copyright (c) OpenMMLab. All rights reserved.
"""Training fed by the real data loader: do loading and compute collide?

Section b times the training step on a batch already in memory and
section e the data pipeline alone. On a 2-core machine both compete for
the same cores when they run together: the loader's worker processes
decode JPEGs while the training step's OpenMP threads wait for each other
at every parallel region. This section runs fp32 training steps fed by a
``DataLoader`` over the DFEW-layout sample (the training pipeline of
``configs/_base_/datasets/dfew.py``) for a few (workers, torch threads)
settings, so the best setting for a small CPU is measured, not guessed.
"""
import time
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from .bench_data import build_train_loader
from .bench_model import training_step

__all__ = ['bench_training_e2e']


def bench_training_e2e(
    model: nn.Module,
    data_root: str,
    device: torch.device,
    batch_size: int,
    steps: int,
    warmup: int,
    settings: Sequence[Tuple[int, int]] = ((2, 2), (1, 2), (0, 2), (2, 1))
) -> Dict[str, object]:
    """Time loader-fed fp32 training steps per (workers, threads) setting.

    Args:
        model (nn.Module): Recognizer (its weights are updated; pass a
            copy).
        data_root (str): DFEW-layout root.
        device (torch.device): Device.
        batch_size (int): Clips per step.
        steps (int): Timed steps per setting.
        warmup (int): Untimed steps per setting (includes worker start).
        settings (Sequence[tuple[int, int]]): (DataLoader workers, torch
            threads) pairs.

    Returns:
        dict: Per setting ``'workers=W,threads=N'``: ``clips_per_s`` and
        ``seconds``; the torch thread count is restored afterwards.
    """
    threads_before = torch.get_num_threads()
    wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9))
    out: Dict[str, object] = dict(batch=batch_size, steps=steps)
    try:
        for workers, threads in settings:
            torch.set_num_threads(threads)
            loader = build_train_loader(data_root, 'frames', batch_size,
                                        workers, (warmup + steps))
            batches = iter(loader)
            for _ in range(warmup):
                training_step(model, wrapper, next(batches), device, 'fp32')()
            start = time.perf_counter()
            clips = 0
            for data in batches:
                training_step(model, wrapper, data, device, 'fp32')()
                clips += len(data['inputs'])
            seconds = time.perf_counter() - start
            out[f'workers={workers},threads={threads}'] = dict(
                workers=workers,
                threads=threads,
                clips_per_s=clips / seconds,
                seconds=seconds)
    finally:
        torch.set_num_threads(threads_before)
        model.eval()
    return out
