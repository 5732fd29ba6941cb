# Copyright (c) OpenMMLab. All rights reserved.
"""Render the benchmark results as a Markdown table."""
from typing import List

__all__ = ['format_table']


def _f(value: float, digits: int = 2) -> str:
    """Format a number with ``digits`` decimals."""
    return f'{value:.{digits}f}'


def _pct(value: float, digits: int = 0) -> str:
    """Format a fraction as a percentage with ``digits`` decimals."""
    return f'{100 * value:.{digits}f}%'


#: Share of the CPU taken by other processes above which a run is flagged.
BUSY_FRACTION = 0.05


def _machine(results: dict) -> List[str]:
    """Lines describing the machine and the run."""
    m = results['machine']
    s = results['settings']
    busy = results.get('others_cpu_fraction', 0.0)
    kept = [
        v['others_cpu_fraction'] for v in results.values()
        if isinstance(v, dict) and 'others_cpu_fraction' in v
    ]
    worst = max(kept, default=busy)
    warn = []
    if worst > BUSY_FRACTION:
        disturbed = [
            k for k, v in results.items() if isinstance(v, dict)
            and v.get('others_cpu_fraction', 0.0) > BUSY_FRACTION
        ]
        warn = [
            f'WARNING: other processes used up to {_pct(worst)} of the CPU '
            f"while {', '.join(disturbed)} ran; those figures are unreliable "
            '(OpenMP threads stall at every barrier when a core is taken).', ''
        ]
    return warn + [
        f"Machine: {m['cpu_model']}, {m['usable_cores']} cores, torch "
        f"{m['torch_version']} ({m['torch_threads']} threads, ISA "
        f"{m['cpu_capability']}, flags {' '.join(m['cpu_flags'])}), "
        f"mmaction {m['mmaction_version']}",
        f"Run: {s['mode']}, batch {s['batch']}, {s['frames']}x{s['size']}x"
        f"{s['size']}, {_f(results['elapsed_s'], 0)} s; other processes "
        f'took {_pct(busy)} of the CPU over the run and at most '
        f'{_pct(worst)} during a kept section (disturbed sections are run '
        'again)', ''
    ]


def _rows(results: dict) -> List[List[str]]:
    """Table rows: figure, fp32, bf16, ratio/notes."""
    rows: List[List[str]] = []
    peak = results.get('matmul_peak')
    if peak:
        for key, label in (('', 'torch.mm'), ('onednn_', 'oneDNN 1x1-conv')):
            fp32 = peak[key + 'fp32']['peak_gflops']
            bf16 = peak[key + 'bf16']['peak_gflops']
            rows.append([
                f'{label} GEMM peak (GFLOP/s)',
                _f(fp32, 0),
                _f(bf16, 0), f'bf16/fp32 {_f(bf16 / fp32)}x; square '
                'GEMMs, best median'
            ])
    inf = results.get('inference')
    if inf:
        rows.append([
            f"a. inference (clips/s, batch {inf['batch']})",
            _f(inf['fp32']['clips_per_s']),
            _f(inf['bf16']['clips_per_s']),
            f"bf16/fp32 {_f(inf['bf16_speedup'])}x (target >= 1.8x)"
        ])
    train = results.get('training')
    if train:
        rows.append([
            f"b. training step (clips/s, batch {train['batch']})",
            _f(train['fp32']['clips_per_s']),
            _f(train['bf16']['clips_per_s']),
            f"bf16/fp32 {_f(train['bf16_speedup'])}x"
        ])
    neck = results.get('neck_vs_mmaction')
    if neck:
        for mode in ('forward', 'forward_backward'):
            cells = []
            for p in ('fp32', 'bf16'):
                t = neck[p][mode]
                cells.append(f"{_f(1e3 * t['stt']['median_s'], 0)} vs "
                             f"{_f(1e3 * t['mmaction']['median_s'], 0)} ms = "
                             f"{_f(t['speedup']['stt'])}x")
            extra = ''
            if 'prototype' in neck['fp32'][mode]['speedup']:
                extra = ' (prototype: ' + ', '.join(
                    f"{p} {_f(neck[p][mode]['speedup']['prototype'])}x"
                    for p in ('fp32', 'bf16')) + ')'
            note = (f"STT / MMAction2 time (target >= 1.5x); MMAction2 "
                    f"does {_f(neck['fp32'][mode]['flop_ratio'])}x STT's "
                    'FLOPs')
            if 'speedup_bound' in neck['fp32'][mode]:
                note += '; bound at the best GEMM peak ' + ', '.join(
                    f"{p} {_f(neck[p][mode]['speedup_bound'])}x"
                    for p in ('fp32', 'bf16'))
            rows.append([
                f"c. neck vs MMAction2 divided attn, {mode.replace('_', '+')}"
                f" (batch {neck['batch']})", cells[0], cells[1], note + extra
            ])
    eff = results.get('efficiency')
    if eff:
        for part in ('model', 'backbone', 'neck'):
            cells = [
                f"{_f(eff[part][p]['gflops'], 0)} GFLOP/s = "
                f"{_pct(eff[part][p]['fraction_of_peak'])} / "
                f"{_pct(eff[part][p]['fraction_of_onednn_peak'])}"
                for p in ('fp32', 'bf16')
            ]
            note = 'of torch.mm / oneDNN peak'
            if part == 'model':
                note += '; target fp32 >= 70% of torch.mm'
            rows.append([f'd. {part} achieved rate', *cells, note])
    data = results.get('data_pipeline')
    if data:
        fastest = None
        if train:
            fastest = max(train['fp32']['clips_per_s'],
                          train['bf16']['clips_per_s'])
        for media in ('frames', 'video'):
            d = data[media]
            note = f"{d['num_workers']} workers"
            if fastest:
                note += (f"; {_f(d['clips_per_s'] / fastest, 1)}x fastest "
                         'training step (target >= 1.5x)')
            rows.append([
                f'e. data pipeline, {media} (clips/s)',
                _f(d['clips_per_s'], 1), '', note
            ])
    e2e = results.get('training_e2e')
    if e2e:
        for key, v in e2e.items():
            if not isinstance(v, dict):
                continue
            note = 'fp32 steps fed by the DataLoader (frames)'
            if train:
                note += (
                    f"; {_pct(v['clips_per_s'] / train['fp32']['clips_per_s'])}"  # noqa: E501
                    ' of the in-memory step (b)')
            rows.append([
                f"e. training fed by loader, {key} (clips/s)",
                _f(v['clips_per_s']), '', note
            ])
    mem = results.get('memory')
    if mem:
        rows.append([
            f"f. peak RSS, training step (MiB, batch {mem['fp32']['batch']})",  # noqa: E501
            f"{_f(mem['fp32']['peak_mib'], 0)} "
            f"(+{_f(mem['fp32']['step_delta_mib'], 0)})",
            f"{_f(mem['bf16']['peak_mib'], 0)} "
            f"(+{_f(mem['bf16']['step_delta_mib'], 0)})",
            'VmHWM in a fresh process; (+) = growth over the resident set '
            'before the steps'
        ])
    sc = results.get('scaling')
    if sc:
        for part in ('model', 'neck'):
            p = sc[part]
            rows.append([
                f'g. {part}: cost per extra frame / token (ms per clip)',
                f"{_f(p['ms_per_frame'], 1)} / {_f(p['ms_per_token'], 3)}", '',
                f"fp32; r2 {_f(p['frames']['fit']['r2'], 3)} / "
                f"{_f(p['tokens']['fit']['r2'], 3)}"
            ])
    agree = results.get('bf16_agreement')
    if agree:
        rows.append([
            'bf16 top-1 agreement with fp32', '',
            _pct(agree['top1_agreement'], 1),
            f"{agree['views']} views, {agree['disagreements']} differ "
            '(target >= 99%); largest fp32 top-2 margin among them '
            f"{_f(agree['max_margin_of_disagreements'], 4)}, views with a "
            'margin below 2x the max bf16 score error '
            f"{agree['views_with_margin_below_2x_error']}; "
            f"{agree['weights']}"
        ])
        small = agree.get('trained_small_stt')
        if small:
            rows.append([
                'bf16 top-1 agreement, trained small STT', '',
                _pct(small['top1_agreement'], 2),
                f"{small['views']} clips, {small['disagreements']} differ; "
                'mmstt.testing ORDER_STT trained to '
                f"{_pct(small['train_accuracy'])} on the frame-order task "
                f"(fp32 accuracy on these clips {_pct(small['fp32_accuracy'])}"
                f", max bf16 score error {_f(small['max_abs_score_diff'], 4)})"
            ])
    cuda = results.get('cuda')
    if cuda:
        for kind in ('inference', 'training'):
            c = cuda[kind]
            rows.append([
                f"CUDA {kind} (clips/s, {cuda['device']})",
                _f(c['fp32']['clips_per_s']),
                _f(c['bf16']['clips_per_s']),
                f"bf16/fp32 {_f(c['bf16_speedup'])}x"
            ])
    return rows


def format_table(results: dict) -> str:
    """Render ``results`` as text: machine lines, a table, the targets.

    Args:
        results (dict): Output of :func:`benchmarks.run.run`.

    Returns:
        str: Markdown text.
    """
    lines = _machine(results)
    lines.append('| Figure | fp32 | bf16 | Notes |')
    lines.append('|---|---|---|---|')
    for row in _rows(results):
        lines.append('| ' + ' | '.join(row) + ' |')
    targets = results.get('targets', {})
    if targets:
        lines += [
            '', '| Target | Value | Needed | Holds |', '|---|---|---|---|'
        ]
        for t in targets.values():
            lines.append(f"| {t['what']} | {_f(t['value'])} | "
                         f"{_f(t['target'])} | "
                         f"{'yes' if t['holds'] else 'NO'} |")
    return '\n'.join(lines)
