# Copyright (c) OpenMMLab. All rights reserved.
"""The top-level configs carry the spec's recipe and build."""
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _cfg(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIGS, name))


def _steps(cfg: Config, kind: str) -> list:
    """Every pipeline step of type ``kind`` in the three dataloaders."""
    return [
        step for key in LOADERS for step in cfg[key].dataset.pipeline
        if step['type'] == kind
    ]


@pytest.mark.parametrize('fold', [1, 2, 3, 4, 5])
def test_dfew_fold_configs(fold):
    cfg = _cfg(f'stt_dfew_fold{fold}.py')
    assert cfg.default_scope == 'mmaction'
    assert cfg.custom_imports == dict(
        imports=['mmstt'], allow_failed_imports=False)
    for key in LOADERS:
        assert cfg[key].dataset.type == 'DFEWDataset'
        assert cfg[key].dataset.fold == fold
    assert cfg.train_dataloader.dataset.split == 'train'
    assert cfg.val_dataloader.dataset.split == 'test'
    assert cfg.test_dataloader.dataset.split == 'test'
    # Recipe: SGD 0.9 / 1e-4 / lr 0.01 at batch 32, x0.1 at 40 and 80.
    optim = cfg.optim_wrapper.optimizer
    assert (optim.type, optim.lr, optim.momentum,
            optim.weight_decay) == ('SGD', 0.01, 0.9, 1e-4)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=32)
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.train_cfg.val_interval == 1
    (sched, ) = cfg.param_scheduler
    assert (sched.type, sched.milestones, sched.gamma) == ('MultiStepLR',
                                                           [40, 80], 0.1)
    ckpt = cfg.default_hooks.checkpoint
    assert (ckpt.save_best, ckpt.rule, ckpt.save_last) == ('dfer/uar',
                                                           'greater', True)
    assert cfg.dfer_checkpoint in ('best', 'last')
    assert cfg.default_hooks.logger.interval <= 20
    # Paper model: 4 blocks, 512-d, class token, 16 frames at 112.
    assert cfg.model.neck.depth == 4 and cfg.model.neck.embed_dims == 512
    assert cfg.model.neck.output == 'cls'
    for step in _steps(cfg, 'DFERSampleFrames'):
        assert (step.clip_len, step.frames_per_segment) == (16, 2)
    for step in _steps(cfg, 'Resize'):
        assert step.scale == (112, 112)
    for step in _steps(cfg, 'RandomResizedCrop'):
        assert isinstance(step.area_range, tuple)
        assert isinstance(step.aspect_ratio_range, tuple)


def test_afew_config():
    cfg = _cfg('stt_afew.py')
    assert cfg.train_dataloader.dataset.type == 'AFEWDataset'
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.train_cfg.max_epochs == 20
    assert cfg.optim_wrapper.optimizer.lr == 0.001
    assert cfg.auto_scale_lr.base_batch_size == 32
    assert cfg.load_from.startswith('work_dirs/stt_dfew_fold1/best_')
    assert cfg.default_hooks.checkpoint.save_best == 'dfer/uar'


def test_afew_load_from_is_resolved_or_explained(load_tool, tmp_path):
    train = load_tool('train.py')
    cfg_path = osp.join(CONFIGS, 'stt_afew.py')
    missing = str(tmp_path / 'none' / 'best_dfer_uar_epoch_*.pth')
    args = train.parse_args(
        [cfg_path, '--cfg-options', f'load_from={missing}'])
    with pytest.raises(FileNotFoundError, match='load_from=PATH'):
        train.merge_args(Config.fromfile(cfg_path), args)
    (tmp_path / 'best_dfer_uar_epoch_37.pth').write_bytes(b'')
    args = train.parse_args([
        cfg_path, '--cfg-options',
        f'load_from={tmp_path}/best_dfer_uar_epoch_*.pth'
    ])
    cfg = train.merge_args(Config.fromfile(cfg_path), args)
    assert cfg.load_from == str(tmp_path / 'best_dfer_uar_epoch_37.pth')
    assert cfg.resume is False


def test_data_root_option_moves_every_dataset(load_tool):
    train = load_tool('train.py')
    cfg_path = osp.join(CONFIGS, 'stt_dfew_fold3.py')
    args = train.parse_args([cfg_path, '--cfg-options', 'data_root=/d/DFEW'])
    cfg = train.merge_args(Config.fromfile(cfg_path), args)
    for key in LOADERS:
        assert cfg[key].dataset.data_root == '/d/DFEW'
        assert cfg[key].dataset.fold == 3


def test_sample_config_is_reduced_and_builds():
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    register_all_modules()
    cfg = _cfg('stt_sample.py')
    assert cfg.train_cfg.max_epochs == 2
    assert cfg.train_dataloader.dataset.type == 'DFEWDataset'
    assert cfg.data_root == 'data/dfew_sample'
    neck = cfg.model.neck
    assert neck.depth < 4 and neck.embed_dims < 512
    assert cfg.model.cls_head.in_channels == neck.embed_dims
    assert cfg.model.cls_head.loss_cls.feat_dim == neck.embed_dims
    model = MODELS.build(cfg.model)
    assert model.cls_head.in_channels == neck.embed_dims


def test_example_config_inherits_a_stock_recipe():
    text = open(
        osp.join(CONFIGS, 'examples',
                 'timesformer_stthead_dfew_fold1.py')).read()
    assert "_base_ = ('mmaction::recognition/" in text


def test_demo_config_learns_on_a_cpu_budget():
    import torch
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    register_all_modules()
    cfg = _cfg('stt_demo.py')
    assert cfg.data_root == 'data/dfew_sample'
    for key in LOADERS:
        assert cfg[key].dataset.type == 'DFEWDataset'
        assert cfg[key].dataset.fold == 1
    assert cfg.val_dataloader.dataset.split == 'test'
    # AdamW with a warm-up then a cosine decay to the last epoch, no lr
    # auto-scaling; the best epoch by UAR is reported.
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert not cfg.auto_scale_lr.enable
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 1)
    assert (cosine.type, cosine.begin,
            cosine.end) == ('CosineAnnealingLR', 1, cfg.train_cfg.max_epochs)
    assert cfg.default_hooks.checkpoint.save_best == 'dfer/uar'
    assert cfg.dfer_checkpoint == 'best'
    # Frames and pixels the model is built for.
    size = cfg.size
    for step in _steps(cfg, 'DFERSampleFrames'):
        assert step.clip_len == cfg.model.neck.num_frames
    for step in _steps(cfg, 'Resize'):
        assert step.scale == (size, size)
    model = MODELS.build(cfg.model).eval()
    clip = torch.zeros(1, 1, 3, cfg.model.neck.num_frames, size, size)
    with torch.no_grad():
        logits = model(clip, mode='tensor')
    assert logits.shape == (1, 7)
