# Copyright (c) OpenMMLab. All rights reserved.
"""The set-up the runner tools share (moved from mmstt.apis)."""
import os
import os.path as osp

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from mmstt.engine import resolve_checkpoint
from mmstt.engine.runner_setup import (apply_cfg_options, apply_data_root,
                                       fit_cpu_loaders, prepare_device_env,
                                       set_work_dir)


def test_resolve_checkpoint(tmp_path):
    assert resolve_checkpoint('a/b.pth') == 'a/b.pth'
    assert resolve_checkpoint('https://x/*.pth') == 'https://x/*.pth'
    (tmp_path / 'best_dfer_uar_epoch_7.pth').write_bytes(b'')
    pattern = str(tmp_path / 'best_dfer_uar_epoch_*.pth')
    assert resolve_checkpoint(pattern) == str(tmp_path /
                                              'best_dfer_uar_epoch_7.pth')
    (tmp_path / 'best_dfer_uar_epoch_9.pth').write_bytes(b'')
    with pytest.raises(FileNotFoundError, match='epoch_7.pth, .*epoch_9'):
        resolve_checkpoint(pattern)
    with pytest.raises(FileNotFoundError, match='no file'):
        resolve_checkpoint(str(tmp_path / 'missing_*.pth'))


def test_prepare_device_env_single_process_unchanged():
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    prepare_device_env(cfg, 'none')
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU path only applies w/o CUDA')
def test_prepare_device_env_cpu_pytorch_launcher(monkeypatch):
    monkeypatch.setitem(os.environ, 'RANK', '0')
    monkeypatch.setitem(os.environ, 'WORLD_SIZE', '1')
    monkeypatch.setitem(os.environ, 'LOCAL_RANK', '0')
    monkeypatch.setitem(os.environ, 'MASTER_ADDR', '127.0.0.1')
    monkeypatch.setitem(os.environ, 'MASTER_PORT', '29731')
    cfg = Config(
        dict(
            env_cfg=dict(dist_cfg=dict(backend='nccl')),
            find_unused_parameters=True))
    try:
        prepare_device_env(cfg, 'pytorch')
        assert torch_dist.is_initialized()
        assert torch_dist.get_backend() == 'gloo'
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.model_wrapper_cfg.device_ids is None
        assert cfg.model_wrapper_cfg.find_unused_parameters is True
        # DDP accepts a CPU module with these settings.
        model = torch.nn.parallel.DistributedDataParallel(
            torch.nn.Linear(2, 2), device_ids=None)
        assert model(torch.ones(1, 2)).shape == (1, 2)
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def test_apply_data_root_moves_only_the_old_root():
    cfg = Config(
        dict(
            data_root='data/DFEW',
            train_dataloader=dict(
                dataset=dict(
                    type='RepeatDataset',
                    dataset=dict(type='DFEWDataset', data_root='data/DFEW'))),
            val_dataloader=dict(
                dataset=dict(type='DFEWDataset', data_root='data/DFEW')),
            test_dataloader=dict(
                dataset=dict(type='DFEWDataset', data_root='elsewhere'))))
    cfg.data_root = '/new'
    assert apply_data_root(cfg, 'data/DFEW', '/new') == 2
    assert cfg.train_dataloader.dataset.dataset.data_root == '/new'
    assert cfg.val_dataloader.dataset.data_root == '/new'
    assert cfg.test_dataloader.dataset.data_root == 'elsewhere'
    assert apply_data_root(cfg, None, '/x') == 0


def _loader_cfg():
    loader = dict(
        batch_size=2,
        num_workers=8,
        persistent_workers=True,
        prefetch_factor=2)
    return Config(
        dict(
            train_dataloader=dict(loader),
            val_dataloader=dict(
                loader, num_workers=0, persistent_workers=False),
            test_dataloader=dict(loader)))


def test_fit_cpu_loaders_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(os, 'cpu_count', lambda: 2)
    monkeypatch.setattr(torch, 'get_num_threads', lambda: 2)
    cfg = _loader_cfg()
    changed = fit_cpu_loaders(cfg, {'test_dataloader.num_workers': 8})
    assert changed == ['train_dataloader.num_workers 8 -> 0']
    train = cfg.train_dataloader
    assert train.num_workers == 0 and train.persistent_workers is False
    assert 'prefetch_factor' not in train
    # Already within the spare cores: untouched.
    assert cfg.val_dataloader.num_workers == 0
    # Chosen on the command line: kept.
    assert cfg.test_dataloader.num_workers == 8
    assert cfg.test_dataloader.persistent_workers is True
    # PyTorch accepts the result.
    loader = torch.utils.data.DataLoader(
        list(range(4)),
        batch_size=train.batch_size,
        num_workers=train.num_workers,
        persistent_workers=train.persistent_workers)
    assert len(list(loader)) == 2


def test_fit_cpu_loaders_leaves_spare_cores_to_workers(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(os, 'cpu_count', lambda: 32)
    monkeypatch.setattr(torch, 'get_num_threads', lambda: 16)
    cfg = _loader_cfg()
    assert fit_cpu_loaders(cfg) == []
    assert cfg.train_dataloader.num_workers == 8
    monkeypatch.setattr(os, 'cpu_count', lambda: 20)
    assert fit_cpu_loaders(cfg) == [
        'train_dataloader.num_workers 8 -> 4',
        'test_dataloader.num_workers 8 -> 4'
    ]
    # Workers remain, so persistence and prefetching stay as configured.
    assert cfg.train_dataloader.persistent_workers is True
    assert cfg.train_dataloader.prefetch_factor == 2


def test_fit_cpu_loaders_with_cuda_changes_nothing(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = _loader_cfg()
    assert fit_cpu_loaders(cfg) == []
    assert cfg.train_dataloader.num_workers == 8


def test_set_work_dir_and_cfg_options():
    cfg = Config(
        dict(
            data_root='data/DFEW',
            train_dataloader=dict(dataset=dict(data_root='data/DFEW')),
            work_dir=None))
    set_work_dir(cfg, None, 'configs/stt_dfew_fold3.py')
    assert cfg.work_dir == osp.join('./work_dirs', 'stt_dfew_fold3')
    set_work_dir(cfg, 'w', 'configs/stt_dfew_fold3.py')
    assert cfg.work_dir == 'w'
    apply_cfg_options(cfg, {'data_root': '/data/dfew'})
    assert cfg.train_dataloader.dataset.data_root == '/data/dfew'
    apply_cfg_options(cfg, None)
    assert cfg.data_root == '/data/dfew'
