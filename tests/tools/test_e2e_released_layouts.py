# Copyright (c) OpenMMLab. All rights reserved.
"""End-to-end on the FERV39k and MAFW look-alikes (released layouts).

One tiny epoch of configs/stt_ferv39k.py and configs/stt_mafw_fold1.py
through tools/train.py, the best checkpoint tested with tools/test.py, the
FERV39k predictions broken down per scene, and the class names carried by
the checkpoints (7 for FERV39k, MAFW's 11) used to fine-tune across data
sets by name.
"""
import ast
import json
import os.path as osp
from glob import glob

import pytest
import torch

import mmstt  # noqa: F401
from mmstt.datasets import DFER_CLASSES, MAFW_CLASSES

LOADER_OPTIONS = [
    'train_dataloader.batch_size=8', 'val_dataloader.batch_size=8',
    'test_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
    'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False',
    'test_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1'
]


def _train_and_test(e2e, tmp_path, config: str, data_root: str,
                    name: str) -> tuple:
    """Train one tiny epoch and test its best checkpoint."""
    config = osp.join(e2e.ROOT, 'configs', config)
    work_dir = str(tmp_path / name)
    options = e2e.tiny_options(config, data_root) + LOADER_OPTIONS
    e2e.run_tool([
        'python', 'tools/train.py', config, '--work-dir', work_dir, '--seed',
        '0', '--cfg-options', *options
    ],
                 timeout=600)
    (best, ) = glob(osp.join(work_dir, 'best_dfer_uar_epoch_*.pth'))
    dump = str(tmp_path / f'{name}_preds.pkl')
    test_dir = str(tmp_path / f'{name}_test')
    e2e.run_tool([
        'python', 'tools/test.py', config, best, '--work-dir', test_dir,
        '--dump', dump, '--cfg-options', *options
    ],
                 timeout=600)
    return work_dir, best, dump, e2e.read_test_metrics(test_dir), test_dir


def _meta(path: str) -> dict:
    """``meta`` of a Runner checkpoint, through mmstt's safe reader."""
    from mmstt.engine import read_checkpoint
    return read_checkpoint(path)['meta']


@pytest.mark.slow
def test_ferv39k_train_test_per_scene(e2e, tmp_path, ferv39k_sample_root,
                                      load_tool):
    work_dir, best, dump, metrics, _ = _train_and_test(e2e, tmp_path,
                                                       'stt_ferv39k.py',
                                                       ferv39k_sample_root,
                                                       'ferv39k')
    assert list(_meta(best)['dataset_meta']['classes']) == list(DFER_CLASSES)
    assert 0 <= metrics['dfer/war'] <= 100
    assert f'dfer/recall_{DFER_CLASSES[-1]}' in metrics
    tool = load_tool('analysis/per_scene_metrics.py')
    ann = osp.join(ferv39k_sample_root, '4_setups', 'All_scenes',
                   'test_All.csv')
    table = tool.main([dump, ann, '--out', str(tmp_path / 'scenes')])
    assert set(table['scenes']) == {'Action', 'DailyLife', 'Talkshow'}
    assert sum(r['clips'] for r in table['scenes'].values()) == 7
    # the per-scene tool's overall row is the test run's metric
    assert table['all']['war'] == pytest.approx(metrics['dfer/war'])
    assert table['all']['uar'] == pytest.approx(metrics['dfer/uar'])


@pytest.mark.slow
def test_mafw_train_test_and_class_names(e2e, tmp_path, mafw_sample_root,
                                         ferv39k_sample_root):
    work_dir, best, dump, metrics, test_dir = _train_and_test(
        e2e, tmp_path, 'stt_mafw_fold1.py', mafw_sample_root, 'mafw')
    meta = _meta(best)
    assert list(meta['dataset_meta']['classes']) == list(MAFW_CLASSES)
    assert len(meta['dataset_meta']['classes']) == 11
    assert {f'dfer/recall_{c}' for c in MAFW_CLASSES} <= set(metrics)
    (matrix, ) = glob(osp.join(test_dir, '*', '*confusion_matrix.json'))
    record = json.load(open(matrix))
    assert record['classes'] == list(MAFW_CLASSES)
    assert len(record['confusion_matrix']) == 11
    assert sum(map(sum, record['confusion_matrix'])) == 11  # fold 1 test

    # A 7-class checkpoint (DFEW's classes) into the 11-class MAFW model:
    # rows are taken by class name, the four MAFW-only rows stay fresh.
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    from mmengine.config import Config

    from mmstt.engine import load_checkpoint_strict, read_checkpoint
    register_all_modules()
    cfg = Config.fromfile(osp.join(e2e.ROOT, 'configs', 'stt_mafw_fold1.py'))
    for option in e2e.TINY_MODEL:
        key, value = option.split('=', 1)
        cfg.merge_from_dict({key: ast.literal_eval(value)})
    state = read_checkpoint(best)
    seven = dict(state['state_dict'])
    for key, value in state['state_dict'].items():
        if key.startswith('cls_head.') and value.shape[:1] == (11, ):
            seven[key] = value[:7].clone()  # as a DFEW checkpoint has them
    path7 = str(tmp_path / 'seven.pth')
    torch.save(
        dict(
            state_dict=seven,
            meta=dict(dataset_meta=dict(classes=list(DFER_CLASSES)))), path7)
    model = MODELS.build(cfg.model)
    fresh = model.cls_head.fc_cls.weight.detach().clone()
    load_checkpoint_strict(
        model, path7, load_head='map_classes', classes=MAFW_CLASSES)
    got = model.cls_head.fc_cls.weight.detach()
    torch.testing.assert_close(got[:7], seven['cls_head.fc_cls.weight'])
    torch.testing.assert_close(got[7:], fresh[7:])
    torch.testing.assert_close(model.cls_head.loss_cls.centers[:7].detach(),
                               seven['cls_head.loss_cls.centers'])
