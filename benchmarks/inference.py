# Copyright (c) OpenMMLab. All rights reserved.
"""Section: inference throughput and achieved GFLOP/s vs the GEMM peak.

The product's inference path, ``model.test_step`` (uint8 -> float, /255,
backbone, neck, head, softmax), runs in fp32 and under bf16 autocast; the
backbone (under the model's kernel switch, as the model runs it) and the
neck are also timed alone on the same batch. The same weights with
``kernel='reference'`` (the gain of the speed rules) and with
``test_cfg.compile=True`` (one compiled graph with frozen weights; its
compilation falls in the warm-up) run interleaved with them. GFLOP/s are
the FLOPs :func:`mmstt.utils.count_flops` counts for the work that runs
over the median time.
"""
import time
from typing import Callable, Dict, List

import torch
import torch.nn as nn

from mmstt.utils.flops import count_flops
from .common import (PRECISIONS, autocast, forward_step, ratio, throughput,
                     throughput_row, time_interleaved)

__all__ = [
    'inference_step', 'backbone_step', 'run', 'finish', 'rows', 'targets'
]

#: The timed parts with a rate row, and the FLOP count of each one's work.
RATE_WORK = dict(
    model='total', compiled='total', backbone='backbone', neck='neck')


def inference_step(model: nn.Module, data: dict,
                   precision: str) -> Callable[[], list]:
    """A callable that runs ``model.test_step(data)`` once.

    Args:
        model (nn.Module): Recognizer.
        data (dict): Packed batch.
        precision (str): ``'fp32'`` or ``'bf16'``.

    Returns:
        Callable: Runs one inference step and returns the data samples.
    """

    def step() -> list:
        model.eval()
        with torch.inference_mode(), autocast(precision):
            return model.test_step(data)

    return step


def backbone_step(model: nn.Module, inputs: torch.Tensor,
                  precision: str) -> Callable[[], torch.Tensor]:
    """A callable that runs the backbone as the model runs it (under the
    model's kernel switch): ``model.extract_feat(inputs, stage='backbone')``.

    Args:
        model (nn.Module): Recognizer.
        inputs (torch.Tensor): Preprocessed clips ``(B, V, C, T, H, W)``.
        precision (str): ``'fp32'`` or ``'bf16'``.

    Returns:
        Callable: Runs the backbone once and returns its feature maps.
    """

    def step() -> torch.Tensor:
        model.eval()
        with torch.inference_mode(), autocast(precision):
            return model.extract_feat(inputs, stage='backbone')[0]

    return step


def run(bench) -> Dict[str, object]:
    """Time inference per precision and kernel choice, side by side.

    Returns:
        dict: ``timings`` per candidate (``model/<precision>``,
        ``reference/<precision>``, ``backbone/<precision>``,
        ``neck/<precision>``), ``clips_per_s``, ``bf16_speedup``,
        ``kernel_gain`` (reference time / default time, per precision),
        ``compile_gain`` (default time / compiled time, per precision),
        ``compile_s`` (the compiled model's first call, which compiles)
        and ``flops`` (per part).
    """
    model, data, s = bench.model, bench.data, bench.settings
    inputs = model.data_preprocessor(data, False)['inputs']
    feats = backbone_step(model, inputs, 'fp32')()
    fns = {}
    for p in PRECISIONS:
        fns[f'model/{p}'] = inference_step(model, data, p)
        fns[f'reference/{p}'] = inference_step(bench.reference, data, p)
        fns[f'compiled/{p}'] = inference_step(bench.compiled, data, p)
        fns[f'backbone/{p}'] = backbone_step(model, inputs, p)
        fns[f'neck/{p}'] = forward_step(model.neck, feats, p)
    # The compiled model's first call per precision compiles its graph.
    first_call_s = {}
    for p in PRECISIONS:
        start = time.perf_counter()
        fns[f'compiled/{p}']()
        first_call_s[p] = time.perf_counter() - start
    timings = time_interleaved(fns, s['warmup'], s['repeats'])
    return dict(
        throughput(timings, len(data['inputs'])),
        compile_gain={
            p: ratio(timings, f'model/{p}', f'compiled/{p}')
            for p in PRECISIONS
        },
        compile_s=first_call_s,
        timings=timings,
        flops=count_flops(inference_step(model, data, 'fp32'), model))


def finish(results: dict) -> None:
    """Add the achieved GFLOP/s and fractions of the peak in place.

    Args:
        results (dict): The whole results dict (``peak`` and
            ``inference``).
    """
    inf, peak = results['inference'], results.get('peak')
    rates: Dict[str, Dict[str, float]] = {}
    for part, work in RATE_WORK.items():
        for p in PRECISIONS:
            gflops = inf['flops'][work] / inf['timings'][f'{part}/{p}'][
                'median_s'] / 1e9
            entry = dict(gflops=gflops)
            if peak:
                entry['fraction_of_peak'] = gflops / peak[p]['peak_gflops']
            rates.setdefault(part, {})[p] = entry
    inf['achieved'] = rates


def rows(results: dict) -> List[List[str]]:
    """Table rows of this section."""
    inf = results['inference']
    out = [throughput_row('inference', inf)]
    gain = inf['compile_gain']
    out.append([
        'compiled inference (clips/s, test_cfg.compile=True)',
        *(f"{inf['batch'] / inf['timings'][f'compiled/{p}']['median_s']:.2f}"
          for p in PRECISIONS),
        f"over the default {gain['fp32']:.2f}x / {gain['bf16']:.2f}x; "
        'first call (compiles) ' + ' / '.join(f"{inf['compile_s'][p]:.1f} s"
                                              for p in PRECISIONS) +
        ', pays after ' + ' / '.join(_break_even(inf, p) for p in PRECISIONS)
    ])
    for part, rate in inf.get('achieved', {}).items():
        cells = []
        for p in PRECISIONS:
            cell = f"{rate[p]['gflops']:.0f} GFLOP/s"
            if 'fraction_of_peak' in rate[p]:
                cell += f" = {100 * rate[p]['fraction_of_peak']:.0f}%"
            cells.append(cell)
        out.append([
            f'{part} inference rate', *cells, 'of the torch.mm peak; '
            f"{inf['flops'][RATE_WORK[part]] / 1e9:.1f}"
            ' GFLOP per batch'
        ])
    return out


def _break_even(inf: dict, precision: str) -> str:
    """After how many batches compiling has paid for itself ('never' where
    the compiled model is not faster)."""
    saved = (
        inf['timings'][f'model/{precision}']['median_s'] -
        inf['timings'][f'compiled/{precision}']['median_s'])
    if saved <= 0:
        return 'never'
    return f"{inf['compile_s'][precision] / saved:.0f} batches"


def targets(results: dict) -> Dict[str, Dict[str, object]]:
    """The bf16 efficiency target of the default and of the compiled
    inference, checked where the CPU has AMX-BF16."""
    achieved = results['inference'].get('achieved', {})
    if not results['machine']['amx_bf16']:
        return {}
    out = {}
    for part, key, how in (('model', 'bf16_inference_peak_fraction', ''),
                           ('compiled',
                            'bf16_compiled_inference_peak_fraction',
                            ', test_cfg.compile=True')):
        rate = achieved.get(part, {}).get('bf16', {})
        if 'fraction_of_peak' in rate:
            out[key] = dict(
                value=rate['fraction_of_peak'],
                target=0.45,
                what=f'whole-model bf16 inference GFLOP/s{how} / bf16 '
                'torch.mm peak (CPU with AMX-BF16)')
    return out
