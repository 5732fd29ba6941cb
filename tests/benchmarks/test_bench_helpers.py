# Copyright (c) OpenMMLab. All rights reserved.
"""Pure helpers of the benchmark: fits, summaries, targets, report."""
import pytest

from benchmarks.bench_scaling import linear_fit
from benchmarks.targets import check_targets, failed
from benchmarks.timing import summarize, time_interleaved


def test_linear_fit_exact_line() -> None:
    """A straight line is recovered with r2 = 1."""
    fit = linear_fit([1, 2, 4], [5, 7, 11])
    assert fit['slope'] == pytest.approx(2.0)
    assert fit['intercept'] == pytest.approx(3.0)
    assert fit['r2'] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        linear_fit([1, 1], [2, 3])


def test_summarize_and_interleave() -> None:
    """Medians are medians; interleaving calls every candidate."""
    s = summarize([3.0, 1.0, 2.0])
    assert (s['median_s'], s['min_s'], s['max_s']) == (2.0, 1.0, 3.0)
    calls = []
    out = time_interleaved(
        dict(a=lambda: calls.append('a'), b=lambda: calls.append('b')), 1, 2)
    assert calls == ['a', 'b', 'a', 'b', 'a', 'b']
    assert out['a']['repeats'] == 2 and 'median_cpu_s' in out['b']


def test_targets_hold_and_fail() -> None:
    """Target rows compare values with thresholds."""
    results = dict(
        inference=dict(bf16_speedup=2.0),
        bf16_agreement=dict(
            top1_agreement=0.95, trained_small_stt=dict(top1_agreement=0.995)),
        training=dict(fp32=dict(clips_per_s=2.0), bf16=dict(clips_per_s=4.0)),
        data_pipeline=dict(frames=dict(clips_per_s=5.0)))
    targets = check_targets(results)
    assert targets['bf16_inference_speedup']['holds']
    assert not targets['bf16_top1_agreement']['holds']
    assert targets['bf16_top1_agreement_trained_small_stt']['holds']
    # 5 clips/s against the faster training (4 clips/s) is 1.25x < 1.5x.
    assert targets['data_frames_vs_training']['value'] == pytest.approx(1.25)
    assert failed(targets) == [
        'bf16_top1_agreement', 'data_frames_vs_training'
    ]
