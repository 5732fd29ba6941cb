# Copyright (c) OpenMMLab. All rights reserved.
"""The set-up ``tools/train.py`` and ``tools/test.py`` share.

Command-line groups (work dir, config options, launcher, ``--show-config``),
loading the config with its overrides, the launcher check, the CPU/CUDA
environment and building the Runner live here, once.

MMEngine 0.10.7 assumes CUDA once a launcher is used: its ``pytorch`` and
``slurm`` initialisers call ``torch.cuda.set_device`` (which raises on a CPU
build of torch) and the Runner wraps the model in DDP with
``device_ids=[LOCAL_RANK]`` (which DDP rejects for a CPU module).
:func:`prepare_device_env` makes the tools run unchanged configs on CPU, in
one process or many (``gloo``), and on GPUs.
"""
import argparse
import os
import os.path as osp
import subprocess
from typing import Dict, List, Optional

import torch
import torch.distributed as torch_dist
from mmaction.registry import RUNNERS
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

__all__ = [
    'add_common_arguments', 'apply_cfg_options', 'apply_data_root',
    'build_runner', 'check_launcher', 'finish_distributed', 'fit_cpu_loaders',
    'load_config', 'prepare_device_env', 'set_work_dir'
]

LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

#: Environment variables torchrun sets and ``--launcher pytorch`` needs
#: (``LOCAL_RANK`` may also come from ``--local_rank``).
TORCHRUN_ENV = ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
#: The same for ``--launcher slurm`` (set by srun).
SLURM_ENV = ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')


def add_common_arguments(parser: argparse.ArgumentParser, tool: str) -> None:
    """Add the arguments every runner tool has.

    ``--work-dir``, ``--cfg-options``, ``--show-config``, ``--launcher`` and
    ``--local_rank``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        tool (str): ``'train'`` or ``'test'``; names the matching launch
            scripts in the help.
    """
    what = 'logs and checkpoints' if tool == 'train' else 'the metrics log'
    parser.add_argument(
        '--work-dir',
        help=f'folder for {what}; defaults to the config\'s work_dir, else '
        'work_dirs/<config name>')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. data_root=data/dfew '
        'train_dataloader.batch_size=8 model.neck.depth=2; lists as '
        'key="[a,b]", tuples as key="(a,b)", no spaces')
    parser.add_argument(
        '--show-config',
        action='store_true',
        help='also print the environment and the full config on the '
        'console (they always go to the log file)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help=f'job launcher: none (one process), pytorch (torchrun, see '
        f'tools/dist_{tool}.sh) or slurm (srun, see tools/slurm_{tool}.sh)')
    parser.add_argument(
        '--local_rank',
        '--local-rank',
        type=int,
        default=0,
        help='set by old launchers; torchrun uses LOCAL_RANK instead')


def check_launcher(launcher: str,
                   tool: str = 'train',
                   environ: Optional[Dict[str, str]] = None) -> None:
    """Refuse a launcher whose process environment is missing.

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        tool (str): ``'train'`` or ``'test'``, for the hint. Defaults to
            ``'train'``.
        environ (dict, optional): The environment. Defaults to
            :data:`os.environ`.

    Raises:
        SystemExit: With a one-line message saying how to launch.
    """
    environ = os.environ if environ is None else environ
    if launcher == 'pytorch':
        missing = [k for k in TORCHRUN_ENV if k not in environ]
        if missing:
            raise SystemExit(
                f'--launcher pytorch must be started by torchrun (missing '
                f'{", ".join(missing)}): use bash tools/dist_{tool}.sh '
                f'CONFIG{" CHECKPOINT" if tool == "test" else ""} NUM_PROCS, '
                f'or torchrun --nproc_per_node=N tools/{tool}.py ... '
                '--launcher pytorch; for one process drop --launcher.')
    elif launcher == 'slurm':
        missing = [k for k in SLURM_ENV if k not in environ]
        if missing:
            raise SystemExit(
                f'--launcher slurm must be started by srun (missing '
                f'{", ".join(missing)}): use bash tools/slurm_{tool}.sh; for '
                'one process drop --launcher.')


def set_work_dir(cfg: Config, work_dir: Optional[str], config: str) -> None:
    """``--work-dir``, else the config's, else ``work_dirs/<config name>``.

    Args:
        cfg (Config): The config (changed in place).
        work_dir (str, optional): The ``--work-dir`` argument.
        config (str): The config file path.
    """
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])


def apply_cfg_options(cfg: Config, options: Optional[dict]) -> None:
    """Merge ``--cfg-options``; ``data_root=X`` also moves the data sets.

    Args:
        cfg (Config): The config (changed in place).
        options (dict, optional): The parsed ``--cfg-options``.
    """
    if not options:
        return
    old_root = cfg.get('data_root', None)
    cfg.merge_from_dict(options)
    if 'data_root' in options:
        apply_data_root(cfg, old_root, options['data_root'])


def load_config(args: argparse.Namespace, tool: str = 'train') -> Config:
    """Read the config file named by ``args.config``.

    Also sets ``LOCAL_RANK`` from ``--local_rank`` for old launchers, checks
    the launcher and records ``launcher`` and ``show_config`` in the config.

    Args:
        args (argparse.Namespace): Parsed arguments with ``config``,
            ``launcher``, ``local_rank`` and ``show_config``.
        tool (str): ``'train'`` or ``'test'``, for the launcher hint.
            Defaults to ``'train'``.

    Returns:
        Config: The loaded config.

    Raises:
        SystemExit: If the launcher's environment is missing.
    """
    check_launcher(args.launcher, tool)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(getattr(args, 'local_rank', 0))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    cfg.show_config = bool(getattr(args, 'show_config', False))
    return cfg


def build_runner(cfg: Config, user_options: Optional[dict] = None) -> Runner:
    """Fit the config to this machine and build its Runner.

    ``RUNNERS.build(cfg)`` when the config names a ``runner_type`` (mmstt's
    default runtime names ``DFERRunner``), else ``Runner.from_cfg``, as
    MMAction2's tools do.

    Args:
        cfg (Config): The merged config.
        user_options (dict, optional): The ``--cfg-options`` (a worker
            count given there is kept). Defaults to None.

    Returns:
        Runner: The runner.
    """
    prepare_device_env(cfg, cfg.get('launcher', 'none'))
    fit_cpu_loaders(cfg, user_options)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def finish_distributed() -> None:
    """Leave the process group before exit.

    A gloo group torn down by the interpreter's shutdown can abort a rank
    ('terminate called without an active exception') after the work is
    done.
    """
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def _slurm_env() -> None:
    """Fill the ``torch.distributed`` env variables from SLURM's."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        first = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
        os.environ['MASTER_ADDR'] = first.strip()
    os.environ.setdefault('MASTER_PORT', '29500')


def prepare_device_env(cfg: Config, launcher: str) -> None:
    """Adapt ``cfg`` (in place) to the devices this machine has.

    With CUDA nothing changes. Without CUDA and with a launcher
    (``pytorch``/``slurm``), the process group is created here with the
    ``gloo`` backend (so MMEngine's CUDA-only initialiser is skipped), the
    config's ``dist_cfg`` is switched to ``gloo`` and the model wrapper is
    told to use no device ids. A single CPU process needs no change.

    Args:
        cfg (Config): The config a Runner will be built from.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    cfg.setdefault('env_cfg', dict())
    cfg.env_cfg.setdefault('dist_cfg', dict())
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg', None) or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if launcher == 'slurm':
        _slurm_env()
    if launcher in ('pytorch', 'slurm') and not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))


def fit_cpu_loaders(cfg: Config,
                    user_options: Optional[dict] = None) -> List[str]:
    """Cap the data-loader workers of a run that has no CUDA device.

    On a CPU the training step and the loader workers share the cores, and
    torch already runs one compute thread per core; loader workers then
    slow training down (measured in ``docs/benchmarks.md``) while loading
    is a small part of a step. So without CUDA each loader gets at most as
    many workers as there are cores left over by torch's threads (0 on most
    machines); ``persistent_workers`` and ``prefetch_factor`` are dropped
    when that is 0, as PyTorch requires. A ``num_workers`` the user gave
    with ``--cfg-options`` is kept. With CUDA nothing changes.

    Args:
        cfg (Config): The config a Runner will be built from (changed in
            place).
        user_options (dict, optional): The ``--cfg-options`` of the
            command line (dotted keys). Defaults to None.

    Returns:
        list[str]: One line per changed loader, also written to the log.
    """
    if torch.cuda.is_available():
        return []
    spare = max(0, (os.cpu_count() or 1) - torch.get_num_threads())
    user_options = user_options or {}
    changed = []
    for key in LOADER_KEYS:
        loader = cfg.get(key, None)
        if not loader or f'{key}.num_workers' in user_options:
            continue
        workers = loader.get('num_workers', 0)
        if workers <= spare:
            continue
        loader.num_workers = spare
        if spare == 0:
            loader.persistent_workers = False
            loader.pop('prefetch_factor', None)
        changed.append(f'{key}.num_workers {workers} -> {spare}')
    if changed:
        print_log(
            'No CUDA device: ' + ', '.join(changed) +
            f' ({os.cpu_count()} cores, {torch.get_num_threads()} torch '
            'threads; workers would compete with the compute threads). Set '
            '--cfg-options <loader>.num_workers=N to choose.',
            logger='current')
    return changed


def apply_data_root(cfg: Config, old_root: Optional[str],
                    new_root: str) -> int:
    """Point the data sets that used ``old_root`` at ``new_root``.

    Config files resolve ``data_root`` into the dataloaders when they are
    read, so ``--cfg-options data_root=X`` alone would change only the
    top-level key. The tools call this to carry the new root into every
    train/val/test data set (and wrapped data sets) whose ``data_root`` was
    the config's old value; data sets given another root are left alone.

    Args:
        cfg (Config): The config (changed in place).
        old_root (str, optional): ``data_root`` before the override.
        new_root (str): The new ``data_root``.

    Returns:
        int: How many data set entries were changed.
    """
    changed = 0
    if old_root is None:
        return changed
    for key in LOADER_KEYS:
        loader = cfg.get(key, None)
        dataset = loader.get('dataset', None) if loader else None
        while dataset is not None:
            if dataset.get('data_root', None) == old_root:
                dataset['data_root'] = new_root
                changed += 1
            dataset = dataset.get('dataset', None)
    return changed
