# Copyright (c) OpenMMLab. All rights reserved.
"""Wall-clock timing with warm-up, medians and side-by-side ratios.

Absolute times on a shared machine are noisy, so every comparison in the
benchmark runs its candidates *interleaved* (A, B, A, B, ...) after a
common warm-up and compares the medians. Drifts in clock speed or load
then hit both candidates alike.
"""
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch

__all__ = [
    'synchronize', 'time_once', 'time_repeated', 'time_interleaved',
    'summarize'
]


def synchronize(device: Optional[torch.device] = None) -> None:
    """Wait for queued device work so that wall-clock times are complete.

    Args:
        device (torch.device, optional): The device the timed code runs on.
            Nothing happens for CPU devices.
    """
    if device is not None and torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def time_once(fn: Callable[[], object],
              device: Optional[torch.device] = None) -> float:
    """Run ``fn`` once and return the elapsed seconds.

    Args:
        fn (Callable): The work to time; its result is discarded.
        device (torch.device, optional): Device to synchronise before and
            after the call.

    Returns:
        float: Elapsed wall-clock seconds.
    """
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def time_repeated(fn: Callable[[], object],
                  warmup: int,
                  repeats: int,
                  device: Optional[torch.device] = None) -> List[float]:
    """Time ``fn`` ``repeats`` times after ``warmup`` untimed calls.

    Args:
        fn (Callable): The work to time.
        warmup (int): Untimed calls first (allocator, oneDNN primitive
            caches, lazy initialisation).
        repeats (int): Timed calls.
        device (torch.device, optional): Device to synchronise.

    Returns:
        list[float]: One elapsed time in seconds per timed call.
    """
    for _ in range(warmup):
        fn()
    return [time_once(fn, device) for _ in range(repeats)]


def time_interleaved(
        fns: Dict[str, Callable[[], object]],
        warmup: int,
        repeats: int,
        device: Optional[torch.device] = None) -> Dict[str, Dict[str, float]]:
    """Time several candidates side by side, interleaving their runs.

    Every candidate is warmed up, then the timed rounds call each candidate
    once per round in a fixed order, so slow phases of the machine are
    shared by all of them. Besides wall-clock time, the CPU time of the
    process (all threads, ``time.process_time``) is recorded: when other
    processes compete for the cores, wall time grows but CPU time mostly
    does not, so ``median_cpu_s`` is a cross-check of a noisy run.

    Args:
        fns (dict[str, Callable]): Candidates by name.
        warmup (int): Untimed calls of each candidate.
        repeats (int): Timed rounds.
        device (torch.device, optional): Device to synchronise.

    Returns:
        dict[str, dict[str, float]]: Per candidate ``median_s``, ``min_s``,
        ``max_s``, ``repeats`` and ``median_cpu_s``.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: Dict[str, List[float]] = {name: [] for name in fns}
    cpu: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            cpu_start = time.process_time()
            samples[name].append(time_once(fn, device))
            cpu[name].append(time.process_time() - cpu_start)
    out = {}
    for name, times in samples.items():
        out[name] = summarize(times)
        out[name]['median_cpu_s'] = statistics.median(cpu[name])
    return out


def summarize(times: List[float]) -> Dict[str, float]:
    """Reduce a list of timings to its median, minimum and maximum.

    Args:
        times (list[float]): Elapsed seconds, at least one.

    Returns:
        dict[str, float]: ``median_s``, ``min_s``, ``max_s``, ``repeats``.
    """
    if not times:
        raise ValueError('summarize() needs at least one timing')
    return dict(
        median_s=statistics.median(times),
        min_s=min(times),
        max_s=max(times),
        repeats=len(times))
