# Copyright (c) OpenMMLab. All rights reserved.
"""Helpers that let MMEngine's Runner train and test on CPU or CUDA.

MMEngine 0.10.7 assumes CUDA once a launcher is used: its ``pytorch`` and
``slurm`` initialisers call ``torch.cuda.set_device`` (which raises on a CPU
build of torch) and the Runner wraps the model in DDP with
``device_ids=[LOCAL_RANK]`` (which DDP rejects for a CPU module). The
functions here make ``tools/train.py``/``tools/test.py`` run unchanged
configs on CPU, in one process or many (``gloo``), and on GPUs.
"""
import glob
import os
import subprocess
from typing import List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log

__all__ = [
    'prepare_device_env', 'fit_cpu_loaders', 'resolve_checkpoint',
    'apply_data_root'
]

LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


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
    torch already runs one compute thread per core. Measured on 2 cores
    (``docs/benchmarks.md``): fp32 training fed by the loader ran at 3.27
    clips/s with 0 workers, 3.00 with 1 and 2.74 with 2, while loading is
    about 2 % of a step. So without CUDA each loader gets at most as many
    workers as there are cores left over by torch's threads (0 on most
    machines); ``persistent_workers`` and ``prefetch_factor`` are dropped
    when that is 0, as PyTorch requires. A ``num_workers`` the user gave
    with ``--cfg-options`` is kept. With CUDA nothing changes.

    Args:
        cfg (Config): The config a Runner will be built from (changed in
            place).
        user_options (dict, optional): The ``--cfg-options`` of the
            command line (dotted keys).

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


def resolve_checkpoint(path: str) -> str:
    """Resolve a checkpoint path that may be a glob pattern.

    Best checkpoints carry their epoch in the name
    (``best_dfer_uar_epoch_37.pth``), so configs may name them by a pattern
    such as ``work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_*.pth``.

    Args:
        path (str): A path, URL or glob pattern.

    Returns:
        str: ``path`` itself when it has no wildcard or is a URL, else the
        single existing file it matches.

    Raises:
        FileNotFoundError: If the pattern matches no file, or more than one.
    """
    if '://' in path or not any(ch in path for ch in '*?['):
        return path
    matches = sorted(glob.glob(os.path.expanduser(path)))
    if len(matches) != 1:
        found = ', '.join(matches) if matches else 'no file'
        raise FileNotFoundError(
            f'Checkpoint pattern {path!r} must match exactly one file, '
            f'found {found}. Give the path explicitly, e.g. with '
            '--cfg-options load_from=PATH.')
    return matches[0]


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
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key, None)
        dataset = loader.get('dataset', None) if loader else None
        while dataset is not None:
            if dataset.get('data_root', None) == old_root:
                dataset['data_root'] = new_root
                changed += 1
            dataset = dataset.get('dataset', None)
    return changed
