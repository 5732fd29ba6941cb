# Copyright (c) OpenMMLab. All rights reserved.
"""DFEW 5-fold cross-validation: train every fold, then report.

DFEW is evaluated by 5-fold cross-validation: each fold is trained from
scratch on its train split and evaluated on its test split, and the mean
over the folds is reported. This tool trains the folds one after another
(``tools/train.py``, or ``tools/dist_train.sh`` with ``--gpus N``), or with
``--collect-only`` only reads finished work dirs, then prints and writes
per-fold and mean +- std UAR/WAR as Markdown and JSON.

DFEW has no validation split, so the per-epoch validation runs on the test
fold. ``--choice best`` (the paper family's practice) reports the epoch with
the highest UAR; ``--choice last`` reports the final epoch (no selection on
the test fold). The default is the config's ``dfer_checkpoint`` key.

Examples:
    python tools/dfew_cross_validation.py --out work_dirs/dfew_cv
    python tools/dfew_cross_validation.py --gpus 4 -- --amp
    python tools/dfew_cross_validation.py --collect-only \
        --work-dirs work_dirs/stt_dfew_fold1 ... work_dirs/stt_dfew_fold5
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
from tqdm import tqdm

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CHOICES = ('best', 'last')


def read_val_records(work_dir: str) -> List[Dict]:
    """Read every validation record a training run logged.

    Records come from ``<work_dir>/<timestamp>/vis_data/scalars.json``
    (MMEngine's LocalVisBackend). Runs resumed into the same work dir leave
    several timestamps; they are read in time order and a later record of
    the same epoch replaces an earlier one.

    Args:
        work_dir (str): A training work dir.

    Returns:
        list[dict]: One dict per validated epoch, sorted by ``epoch``, with
        every ``dfer/*`` scalar (e.g. ``dfer/uar``, ``dfer/war``).

    Raises:
        FileNotFoundError: If the work dir holds no scalars.json.
        ValueError: If no record holds ``dfer/uar`` and ``dfer/war``.
    """
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{work_dir}: no */vis_data/scalars.json (not a training work '
            'dir, or training has not logged yet)')
    by_epoch: Dict[int, Dict] = {}
    for path in files:
        with open(path) as f:
            for line_no, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f'{path}:{line_no}: not JSON') from err
                if 'dfer/uar' not in record or 'lr' in record:
                    continue
                epoch = int(record['step'])
                by_epoch[epoch] = dict(
                    epoch=epoch,
                    **{
                        k: v
                        for k, v in record.items() if k.startswith('dfer/')
                    })
    records = [by_epoch[e] for e in sorted(by_epoch)]
    if not records or any('dfer/war' not in r for r in records):
        raise ValueError(f'{work_dir}: the logs hold no dfer/uar and '
                         'dfer/war validation records')
    return records


def select_record(records: Sequence[Dict], choice: str) -> Dict:
    """Pick the reported epoch.

    Args:
        records (Sequence[dict]): Output of :func:`read_val_records`.
        choice (str): ``'best'`` (highest ``dfer/uar``; the first such epoch
            on ties, as the checkpoint hook keeps it) or ``'last'``.

    Returns:
        dict: The chosen record.
    """
    if choice not in CHOICES:
        raise ValueError(f'choice must be one of {CHOICES}, got {choice!r}')
    if choice == 'last':
        return records[-1]
    best = records[0]
    for record in records[1:]:
        if record['dfer/uar'] > best['dfer/uar']:
            best = record
    return best


def summarize(per_fold: Dict[int, Dict], choice: str) -> Dict:
    """Per-fold numbers plus mean and standard deviation over folds.

    Args:
        per_fold (dict[int, dict]): Chosen record of each fold.
        choice (str): ``'best'`` or ``'last'`` (recorded in the output).

    Returns:
        dict: ``folds`` (fold -> record), ``mean`` and ``std`` (metric ->
        value over the folds where it is finite; ``std`` is the sample
        standard deviation, ddof=1, and 0 for a single fold), ``num_folds``
        and ``choice``.
    """
    keys = sorted(set.intersection(*(set(r) for r in per_fold.values())))
    keys = [k for k in keys if k.startswith('dfer/')]
    mean, std = dict(), dict()
    for key in keys:
        values = np.array([per_fold[f][key] for f in sorted(per_fold)],
                          dtype=np.float64)
        # Per-class recall is NaN in a fold without clips of the class.
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            mean[key], std[key] = float('nan'), float('nan')
            continue
        mean[key] = float(finite.mean())
        std[key] = float(finite.std(ddof=1)) if len(finite) > 1 else 0.0
    return dict(
        choice=choice,
        num_folds=len(per_fold),
        folds={str(f): per_fold[f]
               for f in sorted(per_fold)},
        mean=mean,
        std=std)


def _pct(value: float) -> str:
    """Format a metric (``DFERMetric`` logs percentages)."""
    return f'{value:.2f}'


def to_markdown(summary: Dict) -> str:
    """Render :func:`summarize`'s output as a Markdown table.

    Args:
        summary (dict): Output of :func:`summarize`.

    Returns:
        str: The table, preceded by a line naming the epoch choice.
    """
    what = ('best epoch on the test fold (by UAR)'
            if summary['choice'] == 'best' else 'last epoch')
    lines = [
        f'DFEW {summary["num_folds"]}-fold results, {what}; '
        'UAR/WAR in %.', '', '| fold | epoch | UAR | WAR |',
        '|---|---|---|---|'
    ]
    for fold, rec in summary['folds'].items():
        lines.append(f'| {fold} | {rec["epoch"]} | {_pct(rec["dfer/uar"])} '
                     f'| {_pct(rec["dfer/war"])} |')
    mean, std = summary['mean'], summary['std']
    lines.append(f'| mean ± std | | {_pct(mean["dfer/uar"])} ± '
                 f'{_pct(std["dfer/uar"])} | {_pct(mean["dfer/war"])} ± '
                 f'{_pct(std["dfer/war"])} |')
    return '\n'.join(lines) + '\n'


def config_choice(config: str) -> str:
    """Read ``dfer_checkpoint`` from a config; ``'best'`` if absent."""
    from mmengine.config import Config
    return Config.fromfile(config).get('dfer_checkpoint', 'best')


def train_fold(config: str, work_dir: str, gpus: int,
               extra: Sequence[str]) -> None:
    """Train one fold in a subprocess.

    Args:
        config (str): The fold's config.
        work_dir (str): Its work dir.
        gpus (int): Processes (GPUs); 1 runs ``tools/train.py`` directly,
            more run ``tools/dist_train.sh``.
        extra (Sequence[str]): More ``tools/train.py`` arguments.

    Raises:
        RuntimeError: If training fails.
    """
    if gpus > 1:
        cmd = [
            'bash',
            osp.join(ROOT, 'tools', 'dist_train.sh'), config,
            str(gpus)
        ]
    else:
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config]
    cmd += ['--work-dir', work_dir, *extra]
    env = dict(os.environ, PYTHON=os.environ.get('PYTHON', sys.executable))
    result = subprocess.run(cmd, env=env)
    if result.returncode != 0:
        raise RuntimeError(f'training {config} failed (exit code '
                           f'{result.returncode}): {" ".join(cmd)}')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Train (or only collect) the 5 DFEW folds and report '
        'per-fold and mean +- std UAR/WAR as Markdown and JSON. Arguments '
        'after "--" go to tools/train.py.')
    parser.add_argument(
        '--config-tmpl',
        default=osp.join(ROOT, 'configs', 'stt_dfew_fold{}.py'),
        help='config of fold k, with {} for k (default: '
        'configs/stt_dfew_fold{}.py)')
    parser.add_argument(
        '--folds',
        type=int,
        nargs='+',
        default=[1, 2, 3, 4, 5],
        help='folds to run (default: 1 2 3 4 5)')
    parser.add_argument(
        '--work-dir-root',
        default='work_dirs',
        help='fold k trains into ROOT/<config name> (default: work_dirs)')
    parser.add_argument(
        '--work-dirs',
        nargs='+',
        help='finished work dirs, one per fold in --folds order; implies '
        '--collect-only')
    parser.add_argument(
        '--collect-only',
        action='store_true',
        help='do not train; read the work dirs')
    parser.add_argument(
        '--choice',
        choices=CHOICES,
        help='report the best epoch (by UAR on the test fold) or the last '
        'epoch; default: the config\'s dfer_checkpoint key, else best')
    parser.add_argument(
        '--gpus',
        type=int,
        default=1,
        help='processes per fold; >1 uses tools/dist_train.sh (default 1)')
    parser.add_argument(
        '--out',
        default=None,
        help='output prefix for .md and .json (default: '
        'WORK_DIR_ROOT/dfew_cv)')
    args, extra = parser.parse_known_args(argv)
    if extra and extra[0] == '--':
        extra = extra[1:]
    args.train_args = extra
    if args.work_dirs is not None:
        args.collect_only = True
        if len(args.work_dirs) != len(args.folds):
            parser.error(f'--work-dirs has {len(args.work_dirs)} entries '
                         f'but --folds has {len(args.folds)}')
    return args


def main(argv: Optional[List[str]] = None) -> Dict:
    """Run the cross-validation and write the report.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        dict: The summary written to JSON.
    """
    args = parse_args(argv)
    configs = {k: args.config_tmpl.format(k) for k in args.folds}
    if args.work_dirs is not None:
        work_dirs = dict(zip(args.folds, args.work_dirs))
    else:
        work_dirs = {
            k:
            osp.join(args.work_dir_root,
                     osp.splitext(osp.basename(configs[k]))[0])
            for k in args.folds
        }
    choice = args.choice
    if choice is None:
        first = configs[args.folds[0]]
        choice = config_choice(first) if osp.isfile(first) else 'best'

    if not args.collect_only:
        for fold in tqdm(args.folds, desc='DFEW folds', unit='fold'):
            train_fold(configs[fold], work_dirs[fold], args.gpus,
                       args.train_args)

    per_fold = {}
    for fold in args.folds:
        record = select_record(read_val_records(work_dirs[fold]), choice)
        per_fold[fold] = dict(record, work_dir=work_dirs[fold])
    summary = summarize(per_fold, choice)
    markdown = to_markdown(summary)
    print(markdown)

    out = args.out or osp.join(args.work_dir_root, 'dfew_cv')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out + '.md', 'w') as f:
        f.write(markdown)
    with open(out + '.json', 'w') as f:
        json.dump(summary, f, indent=2)
    print(f'written: {out}.md, {out}.json')
    return summary


if __name__ == '__main__':
    main()
