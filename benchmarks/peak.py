# Copyright (c) OpenMMLab. All rights reserved.
"""Section: the machine's ``torch.mm`` peak, the yardstick of GFLOP/s.

The peak is the best median rate over square GEMMs of a few sizes: what a
large, well-shaped GEMM reaches here with the benchmark's threads, not the
datasheet figure. It is measured at the start and at the end of a run;
:func:`best` keeps the higher (a peak taken while another process held a
core is not the machine's).
"""
import time
from typing import Dict, List, Sequence

import torch

from .common import summarize

__all__ = ['measure', 'run', 'best', 'rows']

DTYPES = dict(fp32=torch.float32, bf16=torch.bfloat16)


def measure(dtype: torch.dtype, sizes: Sequence[int],
            repeats: int) -> Dict[str, object]:
    """The best ``torch.mm`` rate over ``sizes``.

    Args:
        dtype (torch.dtype): Element type.
        sizes (Sequence[int]): Square matrix sizes.
        repeats (int): Timed calls per size (one untimed call first).

    Returns:
        dict: ``peak_gflops``, ``best_size`` and ``gflops_by_size``.
    """
    by_size = {}
    for n in sizes:
        a = torch.randn(n, n).to(dtype)
        b = torch.randn(n, n).to(dtype)
        inner = max(1, int(4e9 // (2 * n**3)))  # not timer noise
        torch.mm(a, b)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(inner):
                torch.mm(a, b)
            times.append((time.perf_counter() - start) / inner)
        by_size[str(n)] = 2.0 * n**3 / summarize(times)['median_s'] / 1e9
    size = max(by_size, key=by_size.get)
    return dict(
        peak_gflops=by_size[size], best_size=int(size), gflops_by_size=by_size)


def run(bench) -> Dict[str, object]:
    """Measure the fp32 and bf16 peaks.

    Args:
        bench (Bench): The run's state (reads ``settings``).

    Returns:
        dict: One :func:`measure` per precision.
    """
    s = bench.settings
    return {
        p: measure(dtype, s['peak_sizes'], s['peak_repeats'])
        for p, dtype in DTYPES.items()
    }


def best(*measurements: dict) -> Dict[str, object]:
    """Per precision, the measurement with the higher peak.

    Args:
        *measurements (dict): Outputs of :func:`run`.

    Returns:
        dict: Per precision the best measurement, plus ``all`` (the
        peaks of every measurement, in order).
    """
    out: Dict[str, object] = {
        p: max((m[p] for m in measurements), key=lambda r: r['peak_gflops'])
        for p in DTYPES
    }
    out['all'] = [{
        p: m[p]['peak_gflops']
        for p in DTYPES
    } for m in measurements]
    return out


def rows(results: dict) -> List[List[str]]:
    """Table rows of this section."""
    peak = results['peak']
    fp32, bf16 = peak['fp32']['peak_gflops'], peak['bf16']['peak_gflops']
    return [[
        'torch.mm peak (GFLOP/s)', f'{fp32:.0f}', f'{bf16:.0f}',
        f'bf16/fp32 {bf16 / fp32:.2f}x; best median over square GEMMs'
    ]]
