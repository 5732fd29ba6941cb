# Copyright (c) OpenMMLab. All rights reserved.
"""Train an mmstt (or any MMAction2) recognizer with MMEngine's Runner.

Same arguments as MMAction2's ``tools/train.py``. Differences: ``import
mmstt`` applies the stack repairs (safe checkpoint loading, missing DRN
module), CPU-only machines train without config edits (also with
``--launcher pytorch`` through ``gloo``), and checkpoint paths may be glob
patterns matching exactly one file.

Examples:
    python tools/train.py configs/stt_dfew_fold1.py
    python tools/train.py configs/stt_sample.py --work-dir work_dirs/s \
        --cfg-options train_cfg.max_epochs=2
    bash tools/dist_train.sh configs/stt_dfew_fold1.py 4 --amp
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import torch
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
        description='Train a recognizer (e.g. STT on a DFEW fold) with '
        'MMEngine. Uses CUDA when available, the CPU otherwise.')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='folder for logs and checkpoints; defaults to the config\'s '
        'work_dir, else work_dirs/<config name>')
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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. data_root=data/dfew '
        'train_dataloader.batch_size=8 model.neck.depth=2; lists as '
        'key="[a,b]", tuples as key="(a,b)", no spaces')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher: none (one process), pytorch (torchrun, see '
        'tools/dist_train.sh) or slurm (srun, see tools/slurm_train.sh)')
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
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

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
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict(base_batch_size=32))
        cfg.auto_scale_lr.enable = True

    if cfg.get('randomness', None) is None:
        cfg.randomness = dict(
            seed=args.seed,
            diff_rank_seed=args.diff_rank_seed,
            deterministic=args.deterministic)

    if args.cfg_options is not None:
        old_root = cfg.get('data_root', None)
        cfg.merge_from_dict(args.cfg_options)
        if 'data_root' in args.cfg_options:
            # ``data_root=X`` also moves the data sets that used the old root
            apply_data_root(cfg, old_root, args.cfg_options['data_root'])

    if cfg.get('load_from', None):
        cfg.load_from = resolve_checkpoint(cfg.load_from)
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    """Build a Runner from the config and train.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.
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
    runner.train()
    # Leave the process group before exit: a gloo group torn down by the
    # interpreter's shutdown can abort a rank ('terminate called without an
    # active exception') after the work is done.
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


if __name__ == '__main__':
    main()
