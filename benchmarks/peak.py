# Copyright (c) OpenMMLab. All rights reserved.
"""Section: the machine's ``torch.mm`` peak, the yardstick of GFLOP/s.

The peak is the best median rate over square GEMMs of a few sizes: what a
large, well-shaped GEMM reaches here with the benchmark's threads, not the
datasheet figure. It is measured at the start and at the end of a run;
:func:`best` keeps the higher (a peak taken while another process held a
core is not the machine's). A size whose one call would take more than
``MAX_CALL_S`` at the best rate so far is skipped: on CPUs that emulate
bf16 the largest GEMM would take minutes and is no peak.
"""
import time
from typing import Dict, List, Sequence

import torch

from .common import summarize

__all__ = ['measure', 'run', 'best', 'rows']

DTYPES = dict(fp32=torch.float32, bf16=torch.bfloat16)
#: Longest one GEMM of a size may take (estimated) for the size to be timed.
MAX_CALL_S = 5.0


def measure(dtype: torch.dtype,
            sizes: Sequence[int],
            repeats: int,
            max_call_s: float = MAX_CALL_S) -> Dict[str, object]:
    """The best ``torch.mm`` rate over ``sizes``.

    Args:
        dtype (torch.dtype): Element type.
        sizes (Sequence[int]): Square matrix sizes, timed in ascending
            order.
        repeats (int): Timed calls per size (one untimed call first).
        max_call_s (float): Sizes after the first whose one call would take
            longer at the best rate so far are skipped. Defaults to
            :data:`MAX_CALL_S`.

    Returns:
        dict: ``peak_gflops``, ``best_size``, ``gflops_by_size`` and
        ``skipped_sizes``.
    """
    by_size, skipped = {}, []
    for n in sorted(sizes):
        if by_size and 2 * n**3 / 1e9 / max(by_size.values()) > max_call_s:
            skipped.append(n)
            continue
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
        peak_gflops=by_size[size],
        best_size=int(size),
        gflops_by_size=by_size,
        skipped_sizes=skipped)


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
    note = f'bf16/fp32 {bf16 / fp32:.2f}x; best median over square GEMMs'
    for p in DTYPES:
        if peak[p].get('skipped_sizes'):
            note += (f'; {p} sizes {peak[p]["skipped_sizes"]} skipped (one '
                     f'call > {MAX_CALL_S:g} s)')
    return [['torch.mm peak (GFLOP/s)', f'{fp32:.0f}', f'{bf16:.0f}', note]]
