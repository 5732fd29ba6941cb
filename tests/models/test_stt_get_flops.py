# Copyright (c) OpenMMLab. All rights reserved.
import json
import os.path as osp
import subprocess
import sys

import pytest
from mmengine import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis', 'get_flops.py')


def _tiny_cfg(**neck) -> Config:
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'models', 'stt_r18.py'))
    cfg.model.backbone.update(out_stage=2, base_channels=8)
    cfg.model.neck.update(
        in_channels=16,
        embed_dims=32,
        num_frames=4,
        grid_size=(4, 4),
        depth=2,
        num_heads=2,
        **neck)
    cfg.model.cls_head.update(in_channels=32)
    cfg.model.cls_head.loss_cls.update(feat_dim=32)
    return cfg


def test_counts_match_the_architecture(load_tool):
    tool = load_tool('analysis/get_flops.py')
    cfg = _tiny_cfg(output='mean', prune_last_block=False)
    model = tool.build_model(cfg)
    result = tool.count(model, [1, 3, 4, 32, 32])
    params = sum(p.numel() for p in model.parameters())
    assert result['params']['total'] == params
    # Neck multiply-adds by hand: T=4 frames, S=16 tokens, C=32.
    t, s, c, tokens = 4, 16, 32, 64
    per_block = tokens * (3 * c * c + c * c) * 2 + tokens * (8 * c * c)
    per_block += 2 * t * s * s * c  # spatial q k^T and p v
    per_block += 2 * s * t * t * c  # temporal
    expect = tokens * 16 * c + 2 * per_block  # token_proj + 2 blocks
    # torch's counter: matmul/conv/attention only, 2 FLOPs per MAC.
    assert result['flops']['neck'] == 2 * expect
    # mmengine's counter: 1 per MAC, plus a little for the norms.
    assert expect <= result['macs']['neck'] <= expect * 1.05
    assert result['flops']['backbone'] > 0 and result['macs']['total'] > 0


def test_pruning_reduces_executed_flops(load_tool):
    tool = load_tool('analysis/get_flops.py')
    full = tool.count(
        tool.build_model(_tiny_cfg(prune_last_block=False)), [1, 3, 4, 32, 32])
    pruned = tool.count(
        tool.build_model(_tiny_cfg(prune_last_block=True)), [1, 3, 4, 32, 32])
    assert pruned['flops']['neck'] < full['flops']['neck']
    assert pruned['params'] == full['params']


@pytest.mark.slow
def test_cli_writes_json(tmp_path):
    out = tmp_path / 'flops.json'
    proc = subprocess.run([
        sys.executable, TOOL, '--shape', '1', '3', '16', '112', '112',
        '--json',
        str(out)
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'GFLOPs' in proc.stdout
    data = json.loads(out.read_text())
    assert data['input_shape'] == [1, 1, 3, 16, 112, 112]
    assert 19.7e6 < data['params']['total'] < 19.8e6
    assert 30e9 < data['flops']['total'] < 35e9
