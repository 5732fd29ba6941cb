# Copyright (c) OpenMMLab. All rights reserved.
"""Test (evaluate) a checkpoint with MMEngine's Runner.

Same arguments as MMAction2's ``tools/test.py``, plus ``--show-config``.
``import mmstt`` applies the stack repairs; the checkpoint goes through
torch's safe loader and must fit the model exactly (mmstt configs build
``DFERRunner``); the CPU is used when CUDA is absent (also with
``--launcher pytorch``, via ``gloo``); and CHECKPOINT may be a glob
matching exactly one file. Metrics and the confusion matrix are written to
``<work_dir>/<timestamp>/`` and summarised at the end.

Examples:
    python tools/test.py configs/stt_dfew_fold1.py \
        work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_*.pth --dump preds.pkl
    bash tools/dist_test.sh configs/stt_dfew_fold1.py CKPT 4
"""
import argparse
from typing import Dict, List, Optional

from mmengine.config import Config

import mmstt  # noqa: F401  (stack repairs and registration)
from mmstt.engine import resolve_checkpoint
from mmstt.engine.runner_setup import (add_common_arguments, apply_cfg_options,
                                       build_runner, finish_distributed,
                                       load_config, set_work_dir)

#: How to give one checkpoint explicitly, for the glob error.
CHECKPOINT_HINT = 'pass the file itself as CHECKPOINT'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint on the config\'s test set '
        '(test_dataloader / test_evaluator). Uses CUDA when available, the '
        'CPU otherwise. Ends with a summary: UAR, WAR, the checkpoint and '
        'where the confusion matrix is.')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', help='checkpoint file (or a glob matching one file)')
    parser.add_argument(
        '--dump',
        type=str,
        help='also write every prediction (pred_score, gt_label) to this '
        '.pkl file for offline evaluation')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='predict with one torch.compile graph of frozen weights '
        '(model.test_cfg.compile=True): the first batch compiles first '
        '(the smaller last batch is padded into its graph), so it pays only '
        'for long runs, and mostly in bf16 '
        '(--cfg-options test_cfg.fp16=True: bf16 autocast on the CPU); see '
        'docs/model_zoo.md')
    add_common_arguments(parser, 'test')
    return parser.parse_args(argv)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line arguments to the config.

    Args:
        cfg (Config): The loaded config.
        args (argparse.Namespace): Parsed arguments.

    Returns:
        Config: The updated config (same object).
    """
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise SystemExit(f'--dump must name a .pkl file, got {args.dump}')
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        if isinstance(cfg.test_evaluator, (list, tuple)):
            cfg.test_evaluator = [*cfg.test_evaluator, dump_metric]
        else:
            cfg.test_evaluator = [cfg.test_evaluator, dump_metric]
    if args.compile:
        test_cfg = cfg.model.get('test_cfg') or {}
        cfg.model.test_cfg = dict(test_cfg, compile=True)
    cfg.launcher = args.launcher
    apply_cfg_options(cfg, args.cfg_options)
    set_work_dir(cfg, args.work_dir, args.config)
    cfg.load_from = resolve_checkpoint(args.checkpoint, hint=CHECKPOINT_HINT)
    # A test run never resumes training state, and evaluates the
    # checkpoint's own classifier: a different head is an error.
    cfg.resume = False
    cfg.load_head = 'strict'
    return cfg


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Build a Runner from the config and test the checkpoint.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        dict: The test metrics (e.g. ``dfer/uar``, ``dfer/war``).
    """
    args = parse_args(argv)
    cfg = merge_args(load_config(args, 'test'), args)
    runner = build_runner(cfg, args.cfg_options)
    metrics = runner.test()
    finish_distributed()
    return metrics


if __name__ == '__main__':
    main()
