# Copyright (c) OpenMMLab. All rights reserved.
"""The results as a Markdown table, and the targets they meet."""
from types import ModuleType
from typing import Dict, List

__all__ = ['BUSY_FRACTION', 'check_targets', 'format_table']

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
