# Copyright (c) OpenMMLab. All rights reserved.
"""Train an mmstt (or any MMAction2) recognizer with MMEngine's Runner.

Same arguments as MMAction2's ``tools/train.py``, plus ``--show-config``.
Differences: ``import mmstt`` applies the stack repairs (safe checkpoint
loading, missing DRN module); mmstt configs build ``DFERRunner``
(``load_from`` loads strictly, ``load_head='map_classes'`` fine-tunes with
another classifier, a NaN loss stops the run, a summary, learning curve and
the reported confusion matrix at the end); CPU-only machines train without
config edits (also with ``--launcher pytorch`` through ``gloo``); and
checkpoint paths may be glob patterns matching exactly one file.

Examples:
    python tools/train.py configs/stt_dfew_fold1.py
    python tools/train.py configs/stt_sample.py --work-dir work_dirs/s \
        --cfg-options train_cfg.max_epochs=2
    python tools/train.py configs/stt_afew.py --cfg-options \
        load_from=work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_37.pth
    bash tools/dist_train.sh configs/stt_dfew_fold1.py 4 --amp
"""
import argparse
from typing import List, Optional

import torch
from mmengine.config import Config

import mmstt  # noqa: F401  (stack repairs and registration)
from mmstt.engine import resolve_checkpoint
from mmstt.engine.runner_setup import (add_common_arguments, apply_cfg_options,
                                       build_runner, finish_distributed,
                                       load_config, set_work_dir)

#: How to give one checkpoint explicitly, for the glob error.
LOAD_FROM_HINT = 'give it with --cfg-options load_from=PATH'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Train a recognizer (e.g. STT on a DFEW fold) with '
        'MMEngine. Uses CUDA when available, the CPU otherwise. Logs, '
        'checkpoints, the learning curve and the confusion matrix of the '
        'reported epoch go to the work dir.')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume training. Without a value: from the latest checkpoint '
        'in the work dir; with a path (or a glob matching one file): from '
        'that checkpoint, restoring optimizer, scheduler and iteration')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (AmpOptimWrapper, dynamic loss '
        'scale); needs CUDA')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate during training (then no best checkpoint)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='force linear lr scaling by total batch size vs '
        'auto_scale_lr.base_batch_size (mmstt configs enable it already)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed',
        action='store_true',
        help='give every rank a different seed')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic cuDNN algorithms (slower)')
    add_common_arguments(parser, 'train')
    return parser.parse_args(argv)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line arguments to the config.

    Args:
        cfg (Config): The loaded config.
        args (argparse.Namespace): Parsed arguments.

    Returns:
        Config: The updated config (same object).
    """
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)

    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs CUDA; this machine has none. '
                             'Train without --amp on the CPU.')
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise SystemExit(f'--amp cannot change optim_wrapper type '
                             f'{wrapper!r}; set AmpOptimWrapper in the config')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = resolve_checkpoint(
            args.resume, hint='give it with --resume PATH')

    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict(base_batch_size=32))
        cfg.auto_scale_lr.enable = True

    if cfg.get('randomness', None) is None:
        cfg.randomness = dict(
            seed=args.seed,
            diff_rank_seed=args.diff_rank_seed,
            deterministic=args.deterministic)

    apply_cfg_options(cfg, args.cfg_options)
    if cfg.get('load_from', None):
        cfg.load_from = resolve_checkpoint(cfg.load_from, hint=LOAD_FROM_HINT)
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    """Build a Runner from the config and train.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).
    """
    args = parse_args(argv)
    cfg = merge_args(load_config(args, 'train'), args)
    runner = build_runner(cfg, args.cfg_options)
    runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
