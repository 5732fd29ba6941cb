# Copyright (c) OpenMMLab. All rights reserved.
"""Figures derived from the measured peaks, computed once every section ran.

The GEMM peaks are measured at the start and again at the end of a run and
the better median is kept (a peak measured while another process held a
core is not the machine's peak). Everything that is a fraction of a peak
is computed here, from stored FLOP counts and median times:

* ``efficiency``: achieved GFLOP/s of the model, backbone and neck, as a
  fraction of the ``torch.mm`` peak (the issue's yardstick) and of the
  oneDNN GEMM peak (``conv1x1``; on CPUs where ``torch.mm`` float32 runs
  MKL below the FMA peak, this is the higher, more honest bound);
* ``neck_vs_mmaction``: each candidate's fraction of the best GEMM peak
  (the higher of ``torch.mm`` and oneDNN: the neck may use either) and the
  zero-overhead bound on STT's speedup at that peak.
"""
from typing import Dict

__all__ = ['merge_peaks', 'apply_peaks']

PEAK_KEYS = ('fp32', 'bf16', 'onednn_fp32', 'onednn_bf16')


def merge_peaks(start: dict, end: dict) -> dict:
    """Keep, per GEMM kind, the measurement with the higher peak.

    Args:
        start (dict): Peaks measured first.
        end (dict): Peaks measured last.

    Returns:
        dict: Per kind the better measurement (with ``measured`` =
        ``'start'`` or ``'end'``) plus both raw measurements.
    """
    merged: Dict[str, object] = dict(start=start, end=end)
    for key in PEAK_KEYS:
        if key not in start and key not in end:
            continue
        a, b = start.get(key), end.get(key)
        if b is None or (a is not None
                         and a['peak_gflops'] >= b['peak_gflops']):
            merged[key] = dict(a, measured='start')
        else:
            merged[key] = dict(b, measured='end')
    return merged


def _peak(peaks: dict, key: str) -> float:
    """Peak GFLOP/s of ``key``."""
    return float(peaks[key]['peak_gflops'])


def apply_peaks(results: dict) -> None:
    """Fill in every peak-relative figure of ``results`` in place.

    Args:
        results (dict): Benchmark results with ``matmul_peak``; the
            ``efficiency`` and ``neck_vs_mmaction`` sections are updated
            when present.
    """
    peaks = results.get('matmul_peak')
    if not peaks:
        return
    eff = results.get('efficiency')
    if eff:
        flops = eff['flops']
        for precision in ('fp32', 'bf16'):
            mm = _peak(peaks, precision)
            onednn = _peak(peaks, f'onednn_{precision}')
            for part in ('model', 'backbone', 'neck'):
                seconds = eff[part][precision]['median_s']
                work = flops['total' if part == 'model' else part]
                rate = work / seconds / 1e9
                eff[part][precision].update(
                    gflops=rate,
                    fraction_of_peak=rate / mm,
                    fraction_of_onednn_peak=rate / onednn)
    neck = results.get('neck_vs_mmaction')
    if neck:
        for precision in ('fp32', 'bf16'):
            peak = max(
                _peak(peaks, precision), _peak(peaks,
                                               f'onednn_{precision}')) * 1e9
            for mode in ('forward', 'forward_backward'):
                t = neck[precision][mode]
                flops = neck['flops'][mode]
                t['fraction_of_peak'] = {
                    k: flops[k] / peak / t[k]['median_s']
                    for k in flops
                }
                t['speedup_bound'] = \
                    t['mmaction']['median_s'] / (flops['stt'] / peak)
