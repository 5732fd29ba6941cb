# Copyright (c) OpenMMLab. All rights reserved.
"""The results as a Markdown table, and the targets they meet."""
from types import ModuleType
from typing import Dict, List, Optional

__all__ = ['BUSY_FRACTION', 'check_targets', 'baseline_target', 'format_table']

#: Share of the CPU taken by others above which a figure is flagged.
BUSY_FRACTION = 0.1


def check_targets(targets: Dict[str, Dict[str, object]]) -> Dict[str, dict]:
    """Mark each target as holding or not.

    Args:
        targets (dict): Name -> ``value``, ``target`` (the least value that
            meets it) and ``what``.

    Returns:
        dict: The same with ``holds`` (bool) added.
    """
    return {
        k: dict(t, holds=bool(t['value'] >= t['target']))
        for k, t in targets.items()
    }


def baseline_target(results: dict,
                    baseline: Optional[dict]) -> Dict[str, dict]:
    """bf16 inference no slower than a baseline run on the same CPU model.

    Where the CPU has AMX-BF16 the peak-fraction target applies instead.
    A drop of up to 5 % counts as noise.

    Args:
        results (dict): This run's results.
        baseline (dict, optional): An earlier ``results.json``.

    Returns:
        dict: One target (``bf16_inference_vs_baseline``) or none when the
        baseline is missing, from another CPU model, another batch size,
        or the CPU has AMX-BF16.
    """
    inf = results.get('inference')
    if not (inf and baseline) or results['machine']['amx_bf16']:
        return {}
    old = baseline.get('inference', {})
    old_cps = old.get('clips_per_s', {}).get('bf16') or \
        old.get('bf16', {}).get('clips_per_s')  # older layout
    if (not old_cps or old.get('batch') != inf['batch']
            or baseline.get('machine', {}).get('cpu_model')
            != results['machine']['cpu_model']):
        return {}
    return dict(
        bf16_inference_vs_baseline=dict(
            value=inf['clips_per_s']['bf16'] / old_cps,
            target=0.95,
            what='bf16 inference clips/s / the baseline run\'s (same CPU '
            'model, 5 % noise allowed)'))


def _header(results: dict) -> List[str]:
    """Lines naming the machine and the run."""
    m, s = results['machine'], results['settings']
    busy = {
        k: v['others_cpu_fraction']
        for k, v in results.items()
        if isinstance(v, dict) and 'others_cpu_fraction' in v
    }
    lines = [
        f"CPU: {m['cpu_model']}, {m['usable_cores']} cores, flags "
        f"{' '.join(m['cpu_flags']) or 'none'} (torch ISA "
        f"{m['cpu_capability']}); torch {m['torch_version']}, "
        f"{m['torch_threads']} threads",
        f"Run: {s['mode']}, batch {s['batch']}, {s['frames']}x{s['size']}x"
        f"{s['size']}, {results['elapsed_s']:.0f} s"
    ]
    disturbed = [k for k, v in busy.items() if v > BUSY_FRACTION]
    if disturbed:
        lines.append('WARNING: other processes took more than '
                     f'{100 * BUSY_FRACTION:.0f}% of the CPU during ' +
                     ', '.join(f'{k} ({100 * busy[k]:.0f}%)'
                               for k in disturbed) +
                     '; those figures are unreliable.')
    return lines + ['']


def format_table(results: dict, sections: Dict[str, ModuleType]) -> str:
    """Render the results as Markdown.

    Args:
        results (dict): The run's results (``machine``, ``settings``,
            ``elapsed_s``, one entry per section, ``targets``).
        sections (dict[str, ModuleType]): Section modules by results key;
            each has ``rows(results)``.

    Returns:
        str: Header lines, the table and the targets table.
    """
    lines = _header(results)
    lines += ['| Figure | fp32 | bf16 | Notes |', '|---|---|---|---|']
    for key, module in sections.items():
        if key in results:
            for row in module.rows(results):
                lines.append('| ' + ' | '.join(row) + ' |')
    for key, why in results.get('skipped', {}).items():
        lines.append(f'| {key} | | | skipped: {why} |')
    for key, trace in results.get('errors', {}).items():
        last = trace.strip().splitlines()[-1]
        lines.append(f'| {key} | | | FAILED: {last} |')
    targets = results.get('targets', {})
    if targets:
        lines += [
            '', '| Target | Value | Needed | Holds |', '|---|---|---|---|'
        ]
        for t in targets.values():
            lines.append(f"| {t['what']} | {t['value']:.2f} | "
                         f"{t['target']:.2f} | "
                         f"{'yes' if t['holds'] else 'NO'} |")
    return '\n'.join(lines)
