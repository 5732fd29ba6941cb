# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/visualize_attention.py on a sample clip."""
import argparse
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction

# End-to-end: the tool runs in subprocesses.
pytestmark = pytest.mark.slow

TOOL = 'tools/analysis/visualize_attention.py'


def test_attention_grids_for_a_frame_folder(tmp_path, sample_root, e2e):
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    # Tiny model with 2 blocks; 8 frames at 32x32 give a 2x2 token grid.
    options = e2e.tiny_options(data_root=sample_root) + ['model.neck.depth=2']
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    cfg = Config.fromfile(e2e.SAMPLE_CONFIG)
    cfg.merge_from_dict(parser.parse_args(['--o', *options]).o)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    clip = osp.join(sample_root, 'Clip', 'clip_224x224', '00001')
    out = tmp_path / 'vis'
    proc = e2e.run_tool([
        'python', TOOL, e2e.SAMPLE_CONFIG, ckpt, clip, '--out',
        str(out), '--cfg-options', *options
    ])
    assert 'token grid 2x2' in proc.stdout
    maps = np.load(out / 'attention_maps.npz')
    assert maps['spatial'].shape == (2, 8, 2, 2)
    assert maps['rollout'].shape == (8, 2, 2)
    assert maps['temporal'].shape == (2, 8, 8)
    assert (maps['spatial'] >= 0).all() and (maps['rollout'] >= 0).all()
    assert np.abs(maps['spatial'].sum((-2, -1)) - 1).max() < 1e-5
    assert np.abs(maps['rollout'].sum((-2, -1)) - 1).max() < 1e-5
    assert np.abs(maps['temporal'].sum(-1) - 1).max() < 1e-5
    spatial = cv2.imread(str(out / 'spatial_attention.png'))
    temporal = cv2.imread(str(out / 'temporal_attention.png'))
    assert spatial is not None and temporal is not None
    # 8 frame columns wider than 4 rows (frames, rollout, 2 blocks) tall.
    assert spatial.shape[1] > spatial.shape[0] > 200
    # Not a blank figure: the overlays colour the frames.
    assert spatial.std() > 10
