# Copyright (c) OpenMMLab. All rights reserved.
"""K-fold cross-validation (DFEW, MAFW): train every fold, then report.

DFEW and MAFW are evaluated by 5-fold cross-validation: each fold is
trained from scratch on its train split and evaluated on its test split,
and the mean over the folds is reported. This tool trains the folds one
after another (``tools/train.py``, or ``tools/dist_train.sh`` with
``--gpus N``), or with ``--collect-only`` only reads finished work dirs,
then prints and writes per-fold and mean +- std UAR/WAR as Markdown and
JSON (strict JSON: a metric without value is ``null``, never ``NaN``).

A fold whose training finished is marked in its work dir
(``cv_fold_done.json``) and skipped when the tool runs again; a fold that
stopped half-way (a crash) is resumed from its last checkpoint. Use
``--retrain`` to train finished folds again.

Neither data set has a validation split, so the per-epoch validation runs
on the test fold. ``--choice best`` (the papers' practice) reports the
epoch with the highest UAR; ``--choice last`` reports the final epoch (no
selection on the test fold). The default is the config's
``dfer_checkpoint`` key.

Examples:
    python tools/cross_validation.py dfew --data-root /data/DFEW
    python tools/cross_validation.py mafw --data-root /data/MAFW --gpus 4 \
        -- --amp
    python tools/cross_validation.py dfew --collect-only
    python tools/cross_validation.py mafw --collect-only \
        --work-dirs w/fold1 w/fold2 w/fold3 w/fold4 w/fold5
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from tqdm import tqdm

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CHOICES = ('best', 'last')
#: Data sets with a k-fold protocol: display name and config template.
DATASETS = {
    'dfew': ('DFEW', 'stt_dfew_fold{}.py'),
    'mafw': ('MAFW', 'stt_mafw_fold{}.py'),
}
#: Written into a fold's work dir when its training finished.
DONE_FILE = 'cv_fold_done.json'


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


def summarize(per_fold: Dict[int, Dict],
              choice: str,
              dataset: str = 'dfew',
              requested: Optional[Sequence[int]] = None) -> Dict:
    """Per-fold numbers plus mean and standard deviation over folds.

    Args:
        per_fold (dict[int, dict]): Chosen record of each fold that ran.
        choice (str): ``'best'`` or ``'last'`` (recorded in the output).
        dataset (str): ``'dfew'`` or ``'mafw'`` (recorded). Defaults to
            ``'dfew'``.
        requested (Sequence[int], optional): The folds asked for; those
            without a record are listed as ``missing_folds``. Defaults to
            the folds of ``per_fold``.

    Returns:
        dict: ``folds`` (fold -> record), ``mean`` and ``std`` (metric ->
        value over the folds where it is finite; ``std`` is the sample
        standard deviation, ddof=1, and ``None`` for fewer than two folds;
        ``None`` where no fold has a value), ``num_folds`` (folds that
        ran), ``missing_folds``, ``choice`` and ``dataset``.
    """
    if not per_fold:
        raise ValueError('no fold to summarize')
    keys = sorted(set.intersection(*(set(r) for r in per_fold.values())))
    keys = [k for k in keys if k.startswith('dfer/')]
    mean: Dict[str, Optional[float]] = dict()
    std: Dict[str, Optional[float]] = dict()
    for key in keys:
        values = np.array([
            np.nan if per_fold[f][key] is None else per_fold[f][key]
            for f in sorted(per_fold)
        ],
                          dtype=np.float64)
        # Per-class recall is NaN in a fold without clips of the class.
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            mean[key], std[key] = None, None
            continue
        mean[key] = float(finite.mean())
        std[key] = float(finite.std(ddof=1)) if len(finite) > 1 else None
    requested = sorted(per_fold) if requested is None else list(requested)
    return dict(
        dataset=dataset,
        choice=choice,
        num_folds=len(per_fold),
        missing_folds=[f for f in requested if f not in per_fold],
        folds={str(f): per_fold[f]
               for f in sorted(per_fold)},
        mean=mean,
        std=std)


def to_json_safe(value: Any) -> Any:
    """Replace NaN/inf floats (also nested) by ``None``.

    Args:
        value (Any): A JSON-like structure.

    Returns:
        Any: The same structure, strict-JSON serialisable.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: to_json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v) for v in value]
    return value


def _pct(value: Optional[float]) -> str:
    """Format a metric (``DFERMetric`` logs percentages)."""
    if value is None or not math.isfinite(value):
        return '-'
    return f'{value:.2f}'


def _mean_std(summary: Dict, key: str) -> str:
    """``mean ± std`` over the folds, only the mean for a single fold."""
    mean, std = summary['mean'].get(key), summary['std'].get(key)
    if std is None:
        return _pct(mean)
    return f'{_pct(mean)} ± {_pct(std)}'


def to_markdown(summary: Dict) -> str:
    """Render :func:`summarize`'s output as a Markdown table.

    Args:
        summary (dict): Output of :func:`summarize`.

    Returns:
        str: The table, preceded by a line naming the data set, the folds
        that ran and the epoch choice.
    """
    what = ('best epoch on the test fold (by UAR)'
            if summary['choice'] == 'best' else 'last epoch')
    name = DATASETS.get(summary.get('dataset', 'dfew'), ('DFEW', ))[0]
    n = summary['num_folds']
    missing = summary.get('missing_folds', [])
    folds = 'fold' if n == 1 else 'folds'
    head = f'{name}, {n} {folds} ({", ".join(summary["folds"])})'
    if missing:
        head += ('; missing: fold ' + ', '.join(str(f) for f in missing))
    lines = [
        f'{head}; {what}; UAR/WAR in %.', '', '| fold | epoch | UAR | WAR |',
        '|---|---|---|---|'
    ]
    for fold, rec in summary['folds'].items():
        lines.append(f'| {fold} | {rec["epoch"]} | {_pct(rec["dfer/uar"])} '
                     f'| {_pct(rec["dfer/war"])} |')
    label = 'mean ± std' if n > 1 else 'mean (1 fold)'
    lines.append(f'| {label} | | {_mean_std(summary, "dfer/uar")} | '
                 f'{_mean_std(summary, "dfer/war")} |')
    return '\n'.join(lines) + '\n'


def config_choice(config: str) -> str:
    """Read ``dfer_checkpoint`` from a config; ``'best'`` if absent."""
    from mmengine.config import Config

    # mmstt first: its filter hides the known upstream warnings that
    # reading a config with ``mmaction::`` bases would print.
    import mmstt  # noqa: F401
    return Config.fromfile(config).get('dfer_checkpoint', 'best')


def fold_finished(work_dir: str) -> bool:
    """Whether this tool finished training the fold in ``work_dir``.

    Args:
        work_dir (str): The fold's work dir.

    Returns:
        bool: ``True`` when ``cv_fold_done.json`` is there.
    """
    return osp.isfile(osp.join(work_dir, DONE_FILE))


def train_fold(config: str,
               work_dir: str,
               gpus: int,
               extra: Sequence[str],
               data_root: Optional[str] = None) -> List[str]:
    """Train one fold in a subprocess (resuming a stopped run).

    Args:
        config (str): The fold's config.
        work_dir (str): Its work dir.
        gpus (int): Processes (GPUs); 1 runs ``tools/train.py`` directly,
            more run ``tools/dist_train.sh``.
        extra (Sequence[str]): More ``tools/train.py`` arguments.
        data_root (str, optional): Passed as
            ``--cfg-options data_root=DATA_ROOT``. Defaults to ``None``.

    Returns:
        list[str]: The command that ran.

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
    cmd += ['--work-dir', work_dir]
    # MMEngine's CheckpointHook writes last_checkpoint; resume from it.
    if (osp.isfile(osp.join(work_dir, 'last_checkpoint'))
            and '--resume' not in extra):
        cmd.append('--resume')
    cmd += list(extra)
    if data_root is not None:
        cmd += ['--cfg-options', f'data_root={data_root}']
    env = dict(os.environ, PYTHON=os.environ.get('PYTHON', sys.executable))
    result = subprocess.run(cmd, env=env)
    if result.returncode != 0:
        raise RuntimeError(f'training {config} failed (exit code '
                           f'{result.returncode}): {" ".join(cmd)}')
    with open(osp.join(work_dir, DONE_FILE), 'w') as f:
        json.dump(
            dict(
                config=config,
                command=cmd,
                finished=time.strftime('%Y-%m-%d %H:%M:%S')),
            f,
            indent=2)
    return cmd


def build_parser(dataset: Optional[str] = None) -> argparse.ArgumentParser:
    """The command-line parser.

    Args:
        dataset (str, optional): Fix the data set (the parser then has no
            ``dataset`` argument), as ``tools/dfew_cross_validation.py``
            does. Defaults to ``None``.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = argparse.ArgumentParser(
        description='Train (or only collect) the 5 folds of DFEW or MAFW '
        'and report per-fold and mean +- std UAR/WAR as Markdown and JSON. '
        'Finished folds are skipped, stopped ones resumed. Arguments '
        'after "--" go to tools/train.py.')
    if dataset is None:
        parser.add_argument(
            'dataset',
            choices=sorted(DATASETS),
            help='data set: selects configs/stt_<dataset>_fold{}.py')
    parser.add_argument(
        '--config-tmpl',
        default=None,
        help='config of fold k, with {} for k (default: '
        'configs/stt_<dataset>_fold{}.py)')
    parser.add_argument(
        '--data-root',
        default=None,
        help='root of the data set copy (passed to tools/train.py as '
        '--cfg-options data_root=...; default: the config\'s)')
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
        help='do not train; read the work dirs (missing folds are named '
        'and the exit status is 1)')
    parser.add_argument(
        '--retrain',
        action='store_true',
        help='train folds again even if they are marked finished')
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
        'WORK_DIR_ROOT/<dataset>_cv)')
    return parser


def parse_args(argv: Optional[List[str]] = None,
               dataset: Optional[str] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).
        dataset (str, optional): Fixed data set (see :func:`build_parser`).
            Defaults to ``None``.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = build_parser(dataset)
    args, extra = parser.parse_known_args(argv)
    if dataset is not None:
        args.dataset = dataset
    if extra and extra[0] == '--':
        extra = extra[1:]
    args.train_args = extra
    if args.config_tmpl is None:
        args.config_tmpl = osp.join(ROOT, 'configs', DATASETS[args.dataset][1])
    if args.work_dirs is not None:
        args.collect_only = True
        if len(args.work_dirs) != len(args.folds):
            parser.error(f'--work-dirs has {len(args.work_dirs)} entries '
                         f'but --folds has {len(args.folds)}')
    return args


def main(argv: Optional[List[str]] = None,
         dataset: Optional[str] = None) -> Dict:
    """Run the cross-validation and write the report.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).
        dataset (str, optional): Fixed data set (see :func:`build_parser`).
            Defaults to ``None``.

    Returns:
        dict: The summary written to JSON.

    Raises:
        SystemExit: With status 1 when folds are missing (their reasons
            are printed), after the report of the others was written.
    """
    args = parse_args(argv, dataset)
    name = DATASETS[args.dataset][0]
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
        for fold in tqdm(args.folds, desc=f'{name} folds', unit='fold'):
            if fold_finished(work_dirs[fold]) and not args.retrain:
                print(f'fold {fold}: finished before ({work_dirs[fold]}/'
                      f'{DONE_FILE}), skipped; --retrain trains it again')
                continue
            train_fold(configs[fold], work_dirs[fold], args.gpus,
                       args.train_args, args.data_root)

    per_fold, missing = {}, {}
    for fold in args.folds:
        try:
            records = read_val_records(work_dirs[fold])
        except (FileNotFoundError, ValueError) as err:
            missing[fold] = str(err)
            continue
        record = select_record(records, choice)
        per_fold[fold] = dict(record, work_dir=work_dirs[fold])
    for fold, reason in missing.items():
        print(f'missing fold {fold}: {reason}', file=sys.stderr)
    if not per_fold:
        raise SystemExit(f'no {name} fold has results: ' +
                         ', '.join(str(f) for f in missing))
    summary = to_json_safe(
        summarize(per_fold, choice, args.dataset, requested=args.folds))
    markdown = to_markdown(summary)
    print(markdown)

    out = args.out or osp.join(args.work_dir_root, f'{args.dataset}_cv')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out + '.md', 'w') as f:
        f.write(markdown)
    with open(out + '.json', 'w') as f:
        json.dump(summary, f, indent=2, allow_nan=False)
    print(f'written: {out}.md, {out}.json')
    if missing:
        raise SystemExit(
            f'{len(missing)} of {len(args.folds)} {name} folds have no '
            'results: fold ' + ', '.join(str(f) for f in missing) +
            f' (the report covers {len(per_fold)})')
    return summary


if __name__ == '__main__':
    main()
