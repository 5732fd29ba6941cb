# Copyright (c) OpenMMLab. All rights reserved.
"""End to end: the real tools, model and sample set (shrunk), faults."""
import glob
import os
import os.path as osp
import subprocess
import sys
from typing import List

import pytest
import torch
from mmengine.config import Config, DictAction

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


@pytest.fixture(scope='module')
def wide_checkpoint(load_tool, dfew_sample_root, tmp_path_factory) -> str:
    """A Runner-style checkpoint of the sample STT with embed_dims 48."""
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    opts = dict(o.split('=', 1) for o in _tiny(dfew_sample_root, 48))
    args = load_tool(
        'test.py').parse_args([CONFIG, 'x.pth', '--cfg-options'] +
                              [f'{k}={v}' for k, v in opts.items()])
    wide = Config.fromfile(CONFIG)
    wide.merge_from_dict(args.cfg_options)
    model = MODELS.build(wide.model)
    ckpt = str(tmp_path_factory.mktemp('wide') / 'embed48.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(epoch=1, dataset_meta=dict(classes=('x', ) * 7))), ckpt)
    return ckpt


@pytest.mark.slow
def test_test_tool_refuses_a_checkpoint_of_another_architecture(
        load_tool, dfew_sample_root, wide_checkpoint, tmp_path):
    with pytest.raises(CheckpointMismatchError) as err:
        load_tool('test.py').main([
            CONFIG, wide_checkpoint, '--work-dir',
            str(tmp_path / 'w'), '--cfg-options', *_tiny(dfew_sample_root)
        ])
    text = str(err.value)
    assert wide_checkpoint in text and 'mis-shaped keys' in text
    assert 'checkpoint (48' in text


@pytest.mark.slow
def test_mmaction2s_own_test_tool_is_strict_too(dfew_sample_root,
                                                wide_checkpoint, tmp_path):
    import mmaction
    test_py = osp.join(
        osp.dirname(mmaction.__file__), '.mim', 'tools', 'test.py')
    assert osp.isfile(test_py), 'the mmaction2 wheel ships .mim/tools'
    # MMAction2's tool does not carry data_root into the data sets, so the
    # config's own data/dfew_sample is made to point at the sample set.
    os.makedirs(str(tmp_path / 'data'))
    os.symlink(dfew_sample_root, str(tmp_path / 'data' / 'dfew_sample'))
    options = [o for o in _tiny(dfew_sample_root) if 'data_root' not in o]
    command = [
        sys.executable, test_py, CONFIG, wide_checkpoint, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', *options
    ]
    result = subprocess.run(
        command,
        cwd=str(tmp_path),
        env=dict(os.environ, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=600)
    assert result.returncode != 0
    assert 'CheckpointMismatchError' in result.stderr, result.stderr[-2000:]
    assert wide_checkpoint in result.stderr


@pytest.mark.slow
def test_map_classes_dfew_to_mafw_on_the_real_model(dfew_sample_root,
                                                    tmp_path):
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    from mmstt.engine import load_checkpoint_strict
    init_default_scope('mmaction')
    dfew = ('happy', 'sad', 'neutral', 'angry', 'surprise', 'disgust', 'fear')
    mafw = dfew + ('contempt', 'anxiety', 'helplessness', 'disappointment')

    def build(num_classes):
        cfg = Config.fromfile(CONFIG)
        options = dict(o.split('=', 1) for o in _tiny(dfew_sample_root))
        options['model.cls_head.num_classes'] = str(num_classes)
        options['model.cls_head.loss_cls.num_classes'] = str(num_classes)
        parsed = {k: DictAction._parse_iterable(v) for k, v in options.items()}
        cfg.merge_from_dict(parsed)
        return MODELS.build(cfg.model)

    src, dst = build(7), build(11)
    ckpt = str(tmp_path / 'dfew.pth')
    torch.save(
        dict(
            state_dict=src.state_dict(),
            meta=dict(dataset_meta=dict(classes=dfew))), ckpt)
    with pytest.raises(CheckpointMismatchError, match='map_classes'):
        load_checkpoint_strict(build(11), ckpt, classes=mafw)
    fresh = {k: v.clone() for k, v in dst.state_dict().items()}
    load_checkpoint_strict(dst, ckpt, load_head='map_classes', classes=mafw)
    got, want = dst.state_dict(), src.state_dict()
    per_class = [
        k for k in got if k.startswith('cls_head.') and got[k].dim() >= 1
        and got[k].shape[0] == 11
    ]
    assert 'cls_head.fc_cls.weight' in per_class
    for key in got:
        if key in per_class:
            assert torch.equal(got[key][:7], want[key]), key
            assert torch.equal(got[key][7:], fresh[key][7:]), key
        else:
            assert torch.equal(got[key], want[key]), key
