# Copyright (c) OpenMMLab. All rights reserved.
"""Helpers of the benchmark: timing, ratios, targets, report, budgets."""
import types

import numpy as np
import pytest
import torch

from benchmarks import common, inference, neck, peak, report, tta


def test_interleaving_and_ratio() -> None:
    """Candidates alternate after their warm-up; ratios are of medians."""
    calls = []
    out = common.time_interleaved(
        dict(a=lambda: calls.append('a'), b=lambda: calls.append('b')), 1, 2)
    assert calls == ['a', 'b', 'a', 'b', 'a', 'b']
    assert out['a']['repeats'] == 2 and 'median_cpu_s' in out['b']
    s = common.summarize([3.0, 1.0, 2.0])
    assert (s['median_s'], s['min_s'], s['max_s']) == (2.0, 1.0, 3.0)
    timings = dict(slow=dict(median_s=3.0), fast=dict(median_s=1.5))
    assert common.ratio(timings, 'slow', 'fast') == 2.0
    with pytest.raises(ValueError):
        common.summarize([])
    rounds = dict(
        slow=common.summarize([3.0, 4.0, 1.0]),
        fast=common.summarize([1.5, 1.0, 2.0]))
    assert common.round_ratios(rounds, 'slow', 'fast') == [2.0, 4.0, 0.5]


def test_throughput_figures_and_row() -> None:
    """Clips/s, bf16 speed-up and kernel gain come from the medians."""
    timings = {
        k: dict(median_s=v)
        for k, v in (('model/fp32', 2.0), ('model/bf16', 1.0),
                     ('reference/fp32', 3.0), ('reference/bf16', 1.0))
    }
    figures = common.throughput(timings, 4)
    assert figures == dict(
        batch=4,
        clips_per_s=dict(fp32=2.0, bf16=4.0),
        bf16_speedup=2.0,
        kernel_gain=dict(fp32=1.5, bf16=1.0))
    assert common.throughput_row('inference', figures) == [
        'inference (clips/s, batch 4)', '2.00', '4.00',
        "bf16/fp32 2.00x; kernel='auto' over 'reference' 1.50x / 1.00x"
    ]


def test_compiled_row_gives_the_compile_cost_and_break_even() -> None:
    """Compiling pays after first call / time saved per batch; never where
    the compiled model is slower."""
    timings = {
        k: dict(median_s=v)
        for k, v in (('model/fp32', 2.0), ('compiled/fp32', 2.5),
                     ('model/bf16', 1.0), ('compiled/bf16', 0.75),
                     ('reference/fp32', 3.0), ('reference/bf16', 1.0))
    }
    inf = dict(
        common.throughput(timings, 4),
        timings=timings,
        compile_gain=dict(fp32=0.8, bf16=4 / 3),
        compile_s=dict(fp32=12.0, bf16=10.0))
    row = inference.rows(dict(inference=inf))[1]
    assert row[:3] == [
        'compiled inference (clips/s, test_cfg.compile=True)', '1.60', '5.33'
    ]
    assert row[3].endswith('first call (compiles) 12.0 s / 10.0 s, pays '
                           'after never / 40 batches')


def test_overrides_merge_and_cpu_record() -> None:
    """Nested overrides merge; the CPU record names model and flags."""
    default = common.load_model_cfg()
    cfg = common.load_model_cfg(
        overrides=dict(neck=dict(depth=1), cls_head=dict(num_classes=3)))
    assert cfg.neck.depth == 1 and cfg.cls_head.num_classes == 3
    assert default.neck.depth != 1
    # the other keys of the overridden dicts stay
    assert cfg.neck.embed_dims == default.neck.embed_dims
    assert cfg.cls_head.in_channels == default.cls_head.in_channels
    cpu = common.cpu_record()
    assert cpu['cpu_model'] and set(cpu['cpu_flags']) <= set(common.CPU_FLAGS)
    assert cpu['amx_bf16'] == ('amx_bf16' in cpu['cpu_flags'])


def test_peak_skips_sizes_too_slow_to_time() -> None:
    """Sizes run ascending; one whose call would pass the cap is skipped."""
    timed = peak.measure(torch.float32, [64, 32], repeats=1)
    assert sorted(timed['gflops_by_size']) == ['32', '64']
    assert timed['skipped_sizes'] == []
    capped = peak.measure(torch.float32, [128, 32, 64], 1, max_call_s=1e-12)
    assert list(capped['gflops_by_size']) == ['32']
    assert capped['skipped_sizes'] == [64, 128]
    assert capped['best_size'] == 32
    results = dict(peak=dict(fp32=capped, bf16=timed))
    note = peak.rows(results)[0][-1]
    assert 'fp32 sizes [64, 128] skipped' in note and 'bf16 sizes' not in note


def test_peak_keeps_the_better_measurement() -> None:
    """Per precision the higher peak wins; all peaks are kept."""
    first = dict(fp32=dict(peak_gflops=10.0), bf16=dict(peak_gflops=50.0))
    second = dict(fp32=dict(peak_gflops=12.0), bf16=dict(peak_gflops=40.0))
    best = peak.best(first, second)
    assert best['fp32']['peak_gflops'] == 12.0
    assert best['bf16']['peak_gflops'] == 50.0
    assert best['all'] == [
        dict(fp32=10.0, bf16=50.0),
        dict(fp32=12.0, bf16=40.0)
    ]


def test_uar_war() -> None:
    """UAR averages per-class recall of the top class; WAR is accuracy."""
    scores = [np.eye(3)[c] for c in (0, 0, 1, 1, 1, 2)]
    figures = tta.uar_war(scores, [0, 1, 1, 1, 1, 2])
    assert figures['war'] == pytest.approx(5 / 6)
    assert figures['uar'] == pytest.approx((1 + 3 / 4 + 1) / 3)
    with pytest.raises(ValueError):
        tta.uar_war(scores[:1], [0, 1])


def test_budget_hook_evaluates_once_per_passed_budget() -> None:
    """Budgets passed together share one evaluation; the last one stops."""
    evaluated = []
    hook = tta.BudgetHook(
        [0.0, 0.0, 3600.0],
        lambda m: evaluated.append(m) or dict(uar=0.5, war=0.6))
    runner = types.SimpleNamespace(model='model', iter=0, epoch=0)
    hook.before_train(runner)
    hook.after_train_iter(runner, 0)
    assert len(evaluated) == 1 and len(hook.records) == 2
    assert [r['budget_s'] for r in hook.records] == [0.0, 0.0]
    assert hook.records[0]['iters'] == 1 and hook.records[0]['uar'] == 0.5
    hook.record('model', 5, 1, final=True)  # schedule ended early
    assert len(evaluated) == 2 and hook.records[2]['schedule_ended']
    hook = tta.BudgetHook([0.0], lambda m: dict(uar=1.0, war=1.0))
    hook.before_train(runner)
    with pytest.raises(tta._BudgetSpent):
        hook.after_train_iter(runner, 0)


@pytest.mark.parametrize('kernel,channels_last', [('auto', True),
                                                  ('reference', False)])
def test_backbone_is_timed_under_the_model_kernel(kernel,
                                                  channels_last) -> None:
    """The backbone row runs the backbone as the model does: with the
    neck's kernel switch (rule 2's channels-last frames under 'auto')."""
    cfg = common.load_model_cfg(
        overrides=dict(backbone=dict(out_stage=1), neck=dict(kernel=kernel)))
    cfg.neck.update(in_channels=64, grid_size=(4, 4), depth=1)
    model = common.build_model(cfg)
    data = common.make_batch(1, 2, 16)
    inputs = model.data_preprocessor(data, False)['inputs']
    seen = []
    model.backbone.conv1.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].is_contiguous(
            memory_format=torch.channels_last)))
    feats = inference.backbone_step(model, inputs, 'fp32')()
    assert seen == [channels_last]
    with torch.no_grad():
        want = model.backbone(inputs.flatten(0, 1))
    assert feats.shape == want.shape == (1, 64, 2, 4, 4)
    assert torch.allclose(feats, want, atol=1e-5)


def test_mmaction_reference_matches_the_neck_settings() -> None:
    """The peer copies sizes and per-block stochastic depth."""
    stt = torch.nn.Module()
    stt.blocks = torch.nn.ModuleList(torch.nn.Module() for _ in range(2))
    for block, rate in zip(stt.blocks, (0.0, 0.1)):
        block.drop_path = rate
    cfg = dict(
        in_channels=8,
        embed_dims=16,
        num_frames=3,
        grid_size=(2, 2),
        num_heads=2,
        mlp_ratio=2.0)
    ref = neck.reference_like(stt, cfg)
    rates = [m.drop_prob for m in ref.modules() if hasattr(m, 'drop_prob')]
    assert sorted(set(rates)) == [0.0, 0.1] and len(ref.layers) == 6
    assert ref.layers[2].layers[0][0].out_features == 32  # FFN hidden
    assert ref(torch.randn(2, 8, 3, 2, 2)).shape == (2, 16)
    del stt.blocks[0].drop_path
    with pytest.raises(AttributeError, match='block 0'):
        neck.drop_path_rates(stt)


def _results() -> dict:
    machine = dict(
        cpu_model='Test CPU',
        cpu_flags=['avx2'],
        amx_bf16=False,
        cpu_capability='AVX2',
        usable_cores=2,
        torch_threads=2,
        torch_version='x')
    return dict(
        machine=machine,
        settings=dict(mode='quick', batch=4, frames=4, size=32),
        elapsed_s=1.0,
        inference=dict(batch=4, clips_per_s=dict(fp32=2.0, bf16=3.0)),
        neck=dict(others_cpu_fraction=0.5))


@pytest.mark.parametrize('amx', [True, False])
def test_bf16_efficiency_targets_of_default_and_compiled(amx) -> None:
    """Both bf16 fractions are targets where the CPU has AMX-BF16 only."""
    results = dict(
        machine=dict(amx_bf16=amx),
        inference=dict(
            achieved=dict(
                model=dict(bf16=dict(fraction_of_peak=0.4)),
                compiled=dict(bf16=dict(fraction_of_peak=0.5)))))
    checked = report.check_targets(inference.targets(results))
    if not amx:
        assert checked == {}
        return
    assert not checked['bf16_inference_peak_fraction']['holds']
    assert checked['bf16_compiled_inference_peak_fraction']['holds']
    assert checked['bf16_compiled_inference_peak_fraction']['value'] == 0.5


def test_targets_hold_at_their_threshold() -> None:
    """A target holds when the value reaches it."""
    checked = report.check_targets(
        dict(
            a=dict(value=1.5, target=1.5, what='a'),
            b=dict(value=1.4, target=1.5, what='b')))
    assert checked['a']['holds'] and not checked['b']['holds']


def test_table_names_the_cpu_and_disturbed_sections() -> None:
    """The header has CPU model and flags; busy sections are flagged."""
    results = _results()
    results['targets'] = report.check_targets(
        dict(t=dict(value=2.0, target=1.5, what='the target')))
    results['skipped'] = dict(onnxrt='no onnxruntime')
    results['errors'] = dict(data='Traceback ...\nOSError: disk full\n')
    section = types.SimpleNamespace(rows=lambda r: [['row', '1', '2', 'n']])
    text = report.format_table(results, dict(inference=section, tta=section))
    assert 'CPU: Test CPU, 2 cores, flags avx2' in text
    assert 'WARNING' in text and 'neck (50%)' in text
    assert text.count('| row | 1 | 2 | n |') == 1  # tta did not run
    assert '| onnxrt | | | skipped: no onnxruntime |' in text
    assert '| data | | | FAILED: OSError: disk full |' in text
    assert '| the target | 2.00 | 1.50 | yes |' in text
