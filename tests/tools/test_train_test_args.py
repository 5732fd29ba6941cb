# Copyright (c) OpenMMLab. All rights reserved.
import os.path as osp

import pytest
import torch
from mmengine.config import Config


def _cfg() -> Config:
    return Config(
        dict(
            optim_wrapper=dict(
                type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01)),
            auto_scale_lr=dict(enable=False, base_batch_size=32),
            train_dataloader=dict(batch_size=4),
            val_cfg=dict(type='ValLoop'),
            val_dataloader=dict(batch_size=4),
            val_evaluator=dict(type='DFERMetric'),
            test_evaluator=dict(type='DFERMetric'),
            model=dict(type='STTRecognizer'),
            load_from=None,
            resume=False))


def test_train_merge_args_defaults_and_overrides(load_tool, tmp_path):
    train = load_tool('train.py')
    args = train.parse_args([
        'configs/stt_x.py', '--seed', '3', '--deterministic', '--cfg-options',
        'train_dataloader.batch_size=2'
    ])
    cfg = train.merge_args(_cfg(), args)
    assert cfg.work_dir == osp.join('./work_dirs', 'stt_x')
    assert cfg.randomness == dict(
        seed=3, diff_rank_seed=False, deterministic=True)
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.launcher == 'none' and cfg.resume is False

    args = train.parse_args(
        ['c.py', '--work-dir',
         str(tmp_path), '--resume', '--no-validate'])
    cfg = train.merge_args(_cfg(), args)
    assert cfg.work_dir == str(tmp_path)
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.val_cfg is None and cfg.val_evaluator is None

    ckpt = tmp_path / 'iter_4.pth'
    ckpt.write_bytes(b'')
    args = train.parse_args(
        ['c.py', '--resume',
         str(tmp_path / 'iter_*.pth'), '--auto-scale-lr'])
    cfg = train.merge_args(_cfg(), args)
    assert cfg.resume is True and cfg.load_from == str(ckpt)
    assert cfg.auto_scale_lr.enable is True


def test_train_amp(load_tool, monkeypatch):
    train = load_tool('train.py')
    args = train.parse_args(['c.py', '--amp'])
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit, match='needs CUDA'):
        train.merge_args(_cfg(), args)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = train.merge_args(_cfg(), args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_test_merge_args(load_tool, tmp_path):
    test = load_tool('test.py')
    ckpt = tmp_path / 'best_dfer_uar_epoch_2.pth'
    ckpt.write_bytes(b'')
    args = test.parse_args([
        'configs/stt_y.py',
        str(tmp_path / 'best_*.pth'), '--dump',
        str(tmp_path / 'p.pkl')
    ])
    cfg = test.merge_args(_cfg(), args)
    assert cfg.load_from == str(ckpt) and cfg.resume is False
    assert cfg.work_dir == osp.join('./work_dirs', 'stt_y')
    assert cfg.test_evaluator[1] == dict(
        type='DumpResults', out_file_path=str(tmp_path / 'p.pkl'))
    assert 'test_cfg' not in cfg.model
    with pytest.raises(SystemExit, match='.pkl'):
        test.merge_args(_cfg(),
                        test.parse_args(['c.py', 'k', '--dump', 'x.txt']))
    # --compile keeps the model's other test options.
    cfg = _cfg()
    cfg.model.test_cfg = dict(max_testing_views=2)
    cfg = test.merge_args(cfg, test.parse_args(['c.py', 'k', '--compile']))
    assert cfg.model.test_cfg == dict(max_testing_views=2, compile=True)
