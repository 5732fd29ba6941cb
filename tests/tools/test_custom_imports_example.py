# Copyright (c) OpenMMLab. All rights reserved.
"""The configs/examples config trains with MMAction2's own tools/train.py."""
import os.path as osp
from glob import glob

import mmaction
import pytest

EXAMPLE = osp.join('configs', 'examples', 'timesformer_stthead_dfew_fold1.py')

#: A tiny TimeSformer (1 layer, 32-d, 8 frames of 32x32 in 16x16 patches).
TINY_TIMESFORMER = [
    'model.backbone.embed_dims=32', 'model.backbone.num_heads=2',
    'model.backbone.num_transformer_layers=1', 'model.backbone.num_frames=8',
    'model.backbone.img_size=32', 'model.cls_head.in_channels=32',
    'model.cls_head.loss_cls.feat_dim=32'
]


def test_example_config_uses_only_custom_imports():
    from mmengine.config import Config
    cfg = Config.fromfile(EXAMPLE)
    assert cfg.custom_imports == dict(
        imports=['mmstt'], allow_failed_imports=False)
    assert cfg.default_scope == 'mmaction'
    assert cfg.model.type == 'Recognizer3D'
    assert cfg.model.backbone.type == 'TimeSformer'
    assert cfg.model.cls_head.type == 'STTHead'
    assert cfg.model.cls_head.loss_cls.type == 'CompactSoftmaxLoss'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[key].dataset
        assert dataset.type == 'DFEWDataset'
        assert 'ann_file' not in dataset and 'data_prefix' not in dataset
    assert cfg.val_evaluator.type == 'DFERMetric'
    assert cfg.test_evaluator.type == 'DFERMetric'


@pytest.mark.slow
def test_example_trains_with_mmaction_packaged_train_py(
        sample_root, e2e, tmp_path):
    train_py = osp.join(
        osp.dirname(mmaction.__file__), '.mim', 'tools', 'train.py')
    assert osp.isfile(train_py), 'the mmaction2 wheel ships .mim/tools'
    cfg_opts = ['train_cfg.max_epochs=1', 'default_hooks.logger.interval=1']
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg_opts += [
            f'{key}.dataset.data_root={sample_root}', f'{key}.batch_size=4',
            f'{key}.num_workers=0', f'{key}.persistent_workers=False'
        ]
    from mmengine.config import Config
    cfg = Config.fromfile(EXAMPLE)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for i, step in enumerate(cfg[key].dataset.pipeline):
            if step['type'] == 'DFERSampleFrames':
                cfg_opts.append(f'{key}.dataset.pipeline.{i}.clip_len=8')
            elif step['type'] == 'Resize':
                cfg_opts.append(f'{key}.dataset.pipeline.{i}.scale=(32,32)')
    work_dir = str(tmp_path)
    e2e.run_tool([
        'python', train_py, EXAMPLE, '--work-dir', work_dir, '--cfg-options',
        *TINY_TIMESFORMER, *cfg_opts
    ])
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    assert len(glob(osp.join(work_dir, 'best_dfer_uar_epoch_1.pth'))) == 1
    log = open(glob(osp.join(work_dir, '*', '*.log'))[0]).read()
    assert 'dfer/uar' in log and 'loss_compact' in log
