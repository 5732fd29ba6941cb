# Copyright (c) OpenMMLab. All rights reserved.
"""Test (evaluate) a checkpoint with MMEngine's Runner.

Same arguments as MMAction2's ``tools/test.py``; ``import mmstt`` applies
the stack repairs (the checkpoint goes through torch's safe loader), the CPU
is used when CUDA is absent (also with ``--launcher pytorch``, via
``gloo``), and CHECKPOINT may be a glob matching exactly one file.
Metrics are printed and written to ``<work_dir>/<timestamp>/``.

Examples:
    python tools/test.py configs/stt_dfew_fold1.py \
        work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_*.pth --dump preds.pkl
    bash tools/dist_test.sh configs/stt_dfew_fold1.py CKPT 4
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional

import torch.distributed as torch_dist
from mmaction.registry import RUNNERS
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mmstt  # noqa: F401  (stack repairs and registration)
from mmstt.apis import (apply_data_root, fit_cpu_loaders, prepare_device_env,
                        resolve_checkpoint)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint on the config\'s test set '
        '(test_dataloader / test_evaluator). Uses CUDA when available, the '
        'CPU otherwise.')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', help='checkpoint file (or a glob matching one file)')
    parser.add_argument(
        '--work-dir',
        help='folder for the metrics log; defaults to the config\'s '
        'work_dir, else work_dirs/<config name>')
    parser.add_argument(
        '--dump',
        type=str,
        help='also write every prediction (pred_score, gt_label) to this '
        '.pkl file for offline evaluation')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. data_root=data/dfew '
        'test_dataloader.batch_size=8')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher: none (one process), pytorch (torchrun, see '
        'tools/dist_test.sh) or slurm (see tools/slurm_test.sh)')
    parser.add_argument(
        '--local_rank',
        '--local-rank',
        type=int,
        default=0,
        help='set by old launchers; torchrun uses LOCAL_RANK instead')
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


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
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        old_root = cfg.get('data_root', None)
        cfg.merge_from_dict(args.cfg_options)
        if 'data_root' in args.cfg_options:
            # ``data_root=X`` also moves the data sets that used the old root
            apply_data_root(cfg, old_root, args.cfg_options['data_root'])
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = resolve_checkpoint(args.checkpoint)
    # A test run never resumes training state.
    cfg.resume = False
    return cfg


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Build a Runner from the config and test the checkpoint.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        dict: The test metrics (e.g. ``dfer/uar``, ``dfer/war``).
    """
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    prepare_device_env(cfg, args.launcher)
    fit_cpu_loaders(cfg, args.cfg_options)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    metrics = runner.test()
    # See tools/train.py: leave the process group before exit.
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()
    return metrics


if __name__ == '__main__':
    main()
