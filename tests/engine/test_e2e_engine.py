# Copyright (c) OpenMMLab. All rights reserved.
"""End to end: the real tools, model and sample set (shrunk), faults."""
import glob
import os.path as osp
from typing import List

import pytest
import torch
from mmengine.config import Config

from mmstt.engine import CheckpointMismatchError, NonFiniteLossError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'stt_sample.py')


def _tiny(data_root: str, embed_dims: int = 32) -> List[str]:
    """Options shrinking stt_sample.py to seconds per epoch on a CPU."""
    opts = [
        'model.backbone.base_channels=16', 'model.neck.in_channels=64',
        f'model.neck.embed_dims={embed_dims}', 'model.neck.depth=1',
        'model.neck.num_heads=2', 'model.neck.num_frames=8',
        'model.neck.grid_size=(2,2)',
        f'model.cls_head.in_channels={embed_dims}',
        f'model.cls_head.loss_cls.feat_dim={embed_dims}',
        f'data_root={data_root}'
    ]
    cfg = Config.fromfile(CONFIG)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for i, step in enumerate(cfg[key]['dataset']['pipeline']):
            prefix = f'{key}.dataset.pipeline.{i}'
            if step.get('type') == 'DFERSampleFrames':
                opts.append(f'{prefix}.clip_len=8')
            elif step.get('type') == 'Resize':
                opts.append(f'{prefix}.scale=(32,32)')
    return opts


@pytest.mark.slow
def test_lr_1e6_run_stops_and_saves_nothing(load_tool, dfew_sample_root,
                                            tmp_path):
    train = load_tool('train.py')
    work_dir = str(tmp_path / 'nan')
    with pytest.raises(NonFiniteLossError, match=r'epoch 1, iteration \d'):
        train.main([
            CONFIG, '--work-dir', work_dir, '--cfg-options',
            *_tiny(dfew_sample_root), 'optim_wrapper.optimizer.lr=1e6',
            'auto_scale_lr.enable=False', 'train_cfg.max_epochs=2'
        ])
    assert glob.glob(osp.join(work_dir, '*.pth')) == []


@pytest.mark.slow
def test_test_tool_refuses_a_checkpoint_of_another_architecture(
        load_tool, dfew_sample_root, tmp_path):
    from mmaction.registry import MODELS
    # A model with another embed_dims, saved as a Runner would.
    opts = dict(o.split('=', 1) for o in _tiny(dfew_sample_root, 48))
    tool = load_tool('test.py')
    args = tool.parse_args([CONFIG, 'x.pth', '--cfg-options'] +
                           [f'{k}={v}' for k, v in opts.items()])
    wide = Config.fromfile(CONFIG)
    wide.merge_from_dict(args.cfg_options)
    model = MODELS.build(wide.model)
    ckpt = str(tmp_path / 'embed48.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(epoch=1, dataset_meta=dict(classes=('x', ) * 7))), ckpt)
    with pytest.raises(CheckpointMismatchError) as err:
        tool.main([
            CONFIG, ckpt, '--work-dir',
            str(tmp_path / 'w'), '--cfg-options', *_tiny(dfew_sample_root)
        ])
    text = str(err.value)
    assert ckpt in text and 'mis-shaped keys' in text
    assert 'checkpoint (48' in text
