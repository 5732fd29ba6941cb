# Copyright (c) OpenMMLab. All rights reserved.
"""Measure STT's speed against its peers and the machine, in one run.

``make bench`` runs this script. Each section is one module of
``benchmarks/`` and one group of rows of the printed table; every ratio is
taken from candidates timed interleaved in this run (medians after
warm-up). ``benchmarks/results.json`` keeps every timing, the settings and,
with each section, the CPU model and flags it ran on. See
``docs/benchmarks.md``.

A section module has ``run(bench)`` (the shared :class:`common.Bench`) that
returns its figures, ``rows(results)`` (its table rows: figure, fp32, bf16,
notes, from the whole results dict) and, where it has targets,
``targets(results)`` (name -> ``value``, ``target``, ``what``).
"""
import argparse
import importlib
import json
import os.path as osp
import sys
import time
import traceback
from types import ModuleType
from typing import Dict, List, Optional

import torch

# Run as a script: import ``benchmarks`` from the repository root, not the
# section modules from this folder as top-level modules.
_HERE = osp.dirname(osp.abspath(__file__))
if sys.path and osp.abspath(sys.path[0] or '.') == _HERE:
    sys.path[0] = osp.dirname(_HERE)
from benchmarks.common import MODEL_CONFIG, REPO_ROOT  # noqa: E402

__all__ = ['SECTIONS', 'SETTINGS', 'parse_args', 'run', 'main']

#: The sections (modules of ``benchmarks/``), in the order they run.
SECTIONS = ('peak', 'inference', 'training', 'neck', 'onnxrt', 'data',
            'memory', 'tta')


def section_modules() -> Dict[str, ModuleType]:
    """Import the section modules.

    Returns:
        dict[str, ModuleType]: Module by section name, in run order.
    """
    return {k: importlib.import_module(f'benchmarks.{k}') for k in SECTIONS}


_QUICK_MODEL = dict(neck=dict(num_frames=4, grid_size=(4, 4), depth=1))
_SHORT_CLIPS = dict(frame_range=(16, 20), median_frames=None)
#: Sizes and repeat counts, as (full run, ``--quick``).
_SETTINGS = dict(
    model_overrides=(None, _QUICK_MODEL),
    batch=(8, 1),
    frames=(16, 4),
    size=(112, 64),
    warmup=(2, 1),
    repeats=(7, 1),
    train_warmup=(1, 0),
    train_repeats=(5, 1),
    neck_batch=(8, 1),
    neck_warmup=(1, 0),
    neck_repeats=(5, 1),
    # A subset, e.g. ["fp32"], skips the other precision's neck rows.
    neck_precisions=(('fp32', 'bf16'), ('fp32', 'bf16')),
    peak_sizes=((512, 1024, 2048), (256, )),
    peak_repeats=(5, 2),
    data_sample=(dict(clips_per_class=4, frame_size=224, write_videos=True),
                 dict(
                     clips_per_class=1,
                     frame_size=224,
                     write_videos=True,
                     **_SHORT_CLIPS)),
    data_batches=(20, 2),
    data_warmup=(2, 1),
    memory_steps=(2, 1),
    # The generator's defaults (the 700-clip learning set) in a full run.
    tta_sample=(dict(), dict(clips_per_class=2, short_every=0,
                             **_SHORT_CLIPS)),
    tta_batch=(None, 2))
SETTINGS: Dict[str, dict] = {
    mode: {
        k: v[i]
        for k, v in _SETTINGS.items()
    }
    for i, mode in enumerate(('full', 'quick'))
}


def _minutes(text: str) -> List[float]:
    """Parse ``'2,5,10'`` into ascending minutes."""
    values = sorted(float(v) for v in text.split(',') if v.strip())
    if not values or values[0] < 0:
        raise argparse.ArgumentTypeError(
            f'budgets must be non-negative minutes, got {text!r}')
    return values


def _setting(text: str) -> tuple:
    """Parse ``KEY=VALUE`` (VALUE in JSON) for ``--set``."""
    key, sep, value = text.partition('=')
    if not sep or key not in SETTINGS['full']:
        raise argparse.ArgumentTypeError(
            f'{text!r}: expected KEY=VALUE with KEY one of '
            f"{', '.join(SETTINGS['full'])}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f'{text!r}: {e}') from e


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The arguments.
    """
    parser = argparse.ArgumentParser(
        description='Benchmark STT on this machine, side by side: '
        'inference and training throughput (fp32, bf16), the neck against '
        "MMAction2's divided attention, GFLOP/s against the torch.mm "
        'peak, onnxruntime against PyTorch, the data pipeline, peak '
        'memory and time to accuracy. Prints a table, writes JSON.')
    parser.add_argument(
        '--sections',
        nargs='+',
        choices=SECTIONS,
        default=list(SECTIONS),
        help='sections to run (default: all, in this order)')
    parser.add_argument(
        '--skip',
        nargs='+',
        choices=SECTIONS,
        default=[],
        help='sections to leave out')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny model, batches and repeats: the same keys in seconds, '
        'figures meaningless (smoke test)')
    parser.add_argument(
        '--config',
        default=MODEL_CONFIG,
        help='config whose model is benchmarked (default: '
        'configs/_base_/models/stt_r18.py)')
    parser.add_argument(
        '--threads',
        type=int,
        default=2,
        help='torch intra-op threads (default: 2, the cores of the target '
        'machine)')
    parser.add_argument(
        '--tta-budgets',
        type=_minutes,
        default=None,
        help='training wall-time budgets of the time-to-accuracy section, '
        'in minutes, comma-separated (default: 2,5,10; 0 with --quick)')
    parser.add_argument(
        '--tta-workers',
        type=int,
        default=0,
        help='data loader workers while training for time to accuracy '
        '(default: 0; on 2 cores workers compete with the training step)')
    parser.add_argument(
        '--set',
        nargs='+',
        type=_setting,
        default=[],
        metavar='KEY=VALUE',
        help='override entries of SETTINGS (VALUE in JSON), e.g. --set '
        'repeats=3 neck_batch=4; neck_precisions=\'["fp32"]\' times the '
        'neck in fp32 only (for CPUs that emulate bf16)')
    parser.add_argument(
        '--out',
        default=osp.join(REPO_ROOT, 'benchmarks', 'results.json'),
        help='JSON output (default: benchmarks/results.json)')
    args = parser.parse_args(argv)
    if args.tta_budgets is None:
        args.tta_budgets = [0.0] if args.quick else [2.0, 5.0, 10.0]
    return args


def run(args: argparse.Namespace) -> dict:
    """Run the chosen sections and return the results.

    A section that fails is recorded under ``errors`` and the others still
    run.

    Args:
        args (argparse.Namespace): Parsed arguments.

    Returns:
        dict: The results, as written to JSON.
    """
    from tqdm import tqdm

    from benchmarks import common, report
    sections = section_modules()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    started = time.perf_counter()
    mode = 'quick' if args.quick else 'full'
    s = dict(SETTINGS[mode], **dict(args.set))
    model_cfg = common.load_model_cfg(args.config, s['model_overrides'])
    bench = common.Bench(s, model_cfg, args)
    results: Dict[str, object] = dict(
        machine=common.machine_info(),
        settings=dict(
            s,
            mode=mode,
            config=osp.relpath(args.config, REPO_ROOT),
            tta_budgets_min=args.tta_budgets),
        skipped={},
        errors={})
    chosen = [k for k in SECTIONS if k in args.sections and k not in args.skip]
    bar = tqdm(chosen, desc='benchmarks', unit='section')
    for key in bar:
        bar.set_postfix_str(key)
        module = sections[key]
        why = module.available() if hasattr(module, 'available') else ''
        if why:
            tqdm.write(why)
            results['skipped'][key] = why
            continue
        start, busy = time.perf_counter(), common.Contention()
        try:
            out = module.run(bench)
        except Exception:  # noqa: B902  (recorded; the other sections run)
            results['errors'][key] = traceback.format_exc()
            tqdm.write(f'section {key} failed:\n{results["errors"][key]}')
            continue
        out.update(
            machine=common.cpu_record(),
            others_cpu_fraction=busy.fraction(),
            section_s=time.perf_counter() - start)
        results[key] = out
    if 'peak' in results and len(chosen) > 1:
        results['peak'] = dict(
            sections['peak'].best(results['peak'],
                                  sections['peak'].run(bench)),
            **{
                k: results['peak'][k]
                for k in ('machine', 'others_cpu_fraction')
            })
    if 'inference' in results:
        sections['inference'].finish(results)
    targets: Dict[str, dict] = {}
    for key in chosen:
        if key in results and hasattr(sections[key], 'targets'):
            targets.update(sections[key].targets(results))
    results['targets'] = report.check_targets(targets)
    results['elapsed_s'] = time.perf_counter() - started
    return results


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark, write the JSON and print the table.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        int: 1 when a section failed, else 0.
    """
    args = parse_args(argv)
    results = run(args)
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(results, f, indent=2)
    from benchmarks import report
    print(report.format_table(results, section_modules()))
    print(f'\nresults written to {args.out}')
    return 1 if results['errors'] else 0


if __name__ == '__main__':
    sys.exit(main())
