# Copyright (c) OpenMMLab. All rights reserved.
"""Strict checkpoint loading: errors name the file, counts and keys."""
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from mmstt.engine import (CheckpointMismatchError, CheckpointReadError,
                          checkpoint_class_names, load_checkpoint_strict,
                          read_checkpoint, resolve_checkpoint)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DFEW = ('happy', 'sad', 'neutral', 'angry', 'surprise', 'disgust', 'fear')
MAFW = DFEW + ('contempt', 'anxiety', 'helplessness', 'disappointment')


def _save(path, model, classes=None, **extra):
    meta = dict(epoch=3)
    if classes is not None:
        meta['dataset_meta'] = dict(classes=tuple(classes))
    torch.save(
        dict(state_dict=model.state_dict(), meta=meta, **extra), str(path))
    return str(path)


def test_exact_checkpoint_loads_every_weight(tmp_path, toy):
    src = toy.Recognizer(3)
    path = _save(tmp_path / 'ok.pth', src, toy.classes)
    dst = toy.Recognizer(3)
    meta = load_checkpoint_strict(dst, path, classes=toy.classes)
    assert meta['epoch'] == 3
    for key, value in src.state_dict().items():
        assert torch.equal(dst.state_dict()[key], value)


def test_other_architecture_is_an_error_with_counts_and_keys(tmp_path, toy):
    # embed width 8 vs 16: backbone and classifier mis-shaped.
    path = _save(tmp_path / 'wide.pth', toy.Recognizer(3, width=16))
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(toy.Recognizer(3, width=8), path)
    text = str(err.value)
    assert str(tmp_path / 'wide.pth') in text
    assert '3 mis-shaped keys' in text
    assert 'backbone.weight: checkpoint (16, 4) vs model (8, 4)' in text


def test_missing_and_unexpected_keys_are_counted(tmp_path, toy):
    model = toy.Recognizer(3)
    state = model.state_dict()
    state.pop('backbone.bias')
    state['neck.extra.weight'] = torch.zeros(2)
    state['neck.extra.bias'] = torch.zeros(2)
    path = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict=state), path)
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(toy.Recognizer(3), path)
    text = str(err.value)
    assert path in text
    assert '1 missing keys (backbone.bias)' in text
    assert '2 unexpected keys (neck.extra.weight, neck.extra.bias)' in text
    # The model was not touched by the failed load.
    assert not torch.equal(
        toy.Recognizer(3).backbone.weight, torch.zeros(8, 4))


def test_first_few_keys_only_are_listed(tmp_path, toy):
    state = {f'block{i}.weight': torch.zeros(1) for i in range(9)}
    path = str(tmp_path / 'foreign.pth')
    torch.save(state, path)
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(toy.Recognizer(3), path)
    text = str(err.value)
    assert '9 unexpected keys' in text and '(4 more)' in text
    assert '4 missing keys' in text


def test_different_head_needs_map_classes(tmp_path, toy):
    path = _save(tmp_path / 'dfew.pth', toy.Recognizer(7), DFEW)
    with pytest.raises(
            CheckpointMismatchError, match='load_head="map_classes"') as err:
        load_checkpoint_strict(toy.Recognizer(11), path, classes=MAFW)
    assert '2 mis-shaped keys' in str(err.value)


def test_map_classes_dfew_to_mafw_rows_by_name(tmp_path, toy):
    src = toy.Recognizer(7)
    path = _save(tmp_path / 'dfew.pth', src, DFEW)
    dst = toy.Recognizer(11)
    fresh = dst.cls_head.fc_cls.weight.detach().clone()
    load_checkpoint_strict(dst, path, load_head='map_classes', classes=MAFW)
    w_src, w_dst = src.cls_head.fc_cls.weight, dst.cls_head.fc_cls.weight
    # DFEW order: MAFW's first 7 classes line up with the checkpoint rows.
    assert torch.equal(w_dst[:7], w_src)
    assert torch.equal(dst.cls_head.fc_cls.bias[:7], src.cls_head.fc_cls.bias)
    # The 4 MAFW-only classes keep their fresh initialisation.
    assert torch.equal(w_dst[7:], fresh[7:])
    # Everything else is loaded as usual.
    assert torch.equal(dst.backbone.weight, src.backbone.weight)


def test_map_classes_reorders_rows_and_stays_strict_elsewhere(tmp_path, toy):
    src = toy.Recognizer(3)
    path = _save(tmp_path / 'src.pth', src, toy.classes)
    dst = toy.Recognizer(3)
    order = ('neutral', 'happy', 'sad')
    load_checkpoint_strict(dst, path, load_head='map_classes', classes=order)
    assert torch.equal(dst.cls_head.fc_cls.weight[0],
                       src.cls_head.fc_cls.weight[2])
    assert torch.equal(dst.cls_head.fc_cls.weight[1],
                       src.cls_head.fc_cls.weight[0])
    # A backbone mismatch is still an error with map_classes.
    wide = _save(tmp_path / 'wide.pth', toy.Recognizer(3, width=16),
                 toy.classes)
    with pytest.raises(CheckpointMismatchError, match='backbone.weight'):
        load_checkpoint_strict(
            toy.Recognizer(3), wide, load_head='map_classes', classes=order)


def test_same_shape_other_class_order_is_refused_when_strict(tmp_path, toy):
    path = _save(tmp_path / 'src.pth', toy.Recognizer(3), toy.classes)
    with pytest.raises(CheckpointMismatchError, match='trained on the cl'):
        load_checkpoint_strict(
            toy.Recognizer(3), path, classes=('sad', 'happy', 'neutral'))


def test_map_classes_needs_class_names(tmp_path, toy):
    path = _save(tmp_path / 'anon.pth', toy.Recognizer(7))
    with pytest.raises(CheckpointMismatchError, match='records no class'):
        load_checkpoint_strict(
            toy.Recognizer(11), path, load_head='map_classes', classes=MAFW)
    with pytest.raises(ValueError, match='load_head must be one of'):
        load_checkpoint_strict(toy.Recognizer(7), path, load_head='loose')


def test_checkpoint_class_names():
    meta = dict(dataset_meta=dict(classes=('a', 'b')))
    assert checkpoint_class_names(dict(meta=meta)) == ['a', 'b']
    assert checkpoint_class_names(meta) == ['a', 'b']
    assert checkpoint_class_names(dict(meta=dict(epoch=1))) is None
    assert checkpoint_class_names(None) is None


@pytest.mark.parametrize('kind', ['empty', 'truncated', 'text', 'halfway'])
def test_unreadable_files_are_named_with_their_size(tmp_path, kind, toy):
    good = _save(tmp_path / 'good.pth', toy.Recognizer(3), toy.classes)
    data = open(good, 'rb').read()
    content = dict(
        empty=b'',
        truncated=data[:len(data) // 2],
        text=b'this is not a checkpoint\n',
        halfway=data[:64])[kind]
    path = tmp_path / f'{kind}.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointReadError) as err:
        read_checkpoint(str(path))
    text = str(err.value)
    assert str(path) in text
    assert f'({len(content):,} bytes)' in text
    with pytest.raises(CheckpointReadError, match=re.escape(str(path))):
        load_checkpoint_strict(toy.Recognizer(3), str(path))


def test_missing_file_and_url(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        read_checkpoint(str(tmp_path / 'nope.pth'))
    with pytest.raises(ValueError, match='downloads nothing'):
        read_checkpoint('https://example.org/x.pth')


def test_resolve_checkpoint_hint(tmp_path):
    for epoch in (7, 9):
        (tmp_path / f'best_dfer_uar_epoch_{epoch}.pth').write_bytes(b'')
    pattern = str(tmp_path / 'best_*.pth')
    with pytest.raises(FileNotFoundError) as err:
        resolve_checkpoint(pattern, hint='pass the file itself')
    assert 'epoch_7.pth, ' in str(err.value)
    assert str(err.value).endswith('To choose one, pass the file itself.')
    os.remove(tmp_path / 'best_dfer_uar_epoch_9.pth')
    assert resolve_checkpoint(pattern) == str(tmp_path /
                                              'best_dfer_uar_epoch_7.pth')


# ------------------------------------------------------------ Runner level
def test_runner_load_from_is_strict(tmp_path, toy):
    wrong = _save(tmp_path / 'wide.pth', toy.Recognizer(3, width=16),
                  toy.classes)
    runner = toy.runner(str(tmp_path / 'w'), max_epochs=1, load_from=wrong)
    with pytest.raises(CheckpointMismatchError, match='wide.pth'):
        runner.train()
    assert not any(f.endswith('.pth') for f in os.listdir(str(tmp_path / 'w')))


def test_runner_load_head_map_classes_for_fine_tuning(tmp_path, toy):
    src = toy.Recognizer(7)
    path = _save(tmp_path / 'dfew.pth', src, DFEW)
    runner = toy.runner(
        str(tmp_path / 'w'),
        max_epochs=1,
        classes=MAFW,
        load_from=path,
        load_head='map_classes')
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.load_or_resume()
    model = runner.model
    assert torch.equal(model.cls_head.fc_cls.weight[:7],
                       src.cls_head.fc_cls.weight)
    # Without load_head the same fine-tuning start is refused.
    strict = toy.runner(
        str(tmp_path / 'w2'), max_epochs=1, classes=MAFW, load_from=path)
    strict._train_loop = strict.build_train_loop(strict._train_loop)
    with pytest.raises(CheckpointMismatchError, match='map_classes'):
        strict.load_or_resume()


def test_runner_test_checkpoint_of_other_classes_is_refused(tmp_path, toy):
    path = _save(tmp_path / 'seven.pth', toy.Recognizer(7), DFEW)
    runner = toy.runner(str(tmp_path / 'w'), load_from=path)
    with pytest.raises(CheckpointMismatchError, match='seven.pth'):
        runner.test()


def test_mmstt_configs_build_the_strict_runner():
    # MMAction2's own tools/train.py and tools/test.py build
    # RUNNERS.build(cfg) when the config has runner_type, so the strict
    # runner holds whichever script loads an mmstt config.
    from mmaction.registry import RUNNERS

    from mmstt.engine import DFERRunner
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'default_runtime.py'))
    assert cfg.runner_type == 'DFERRunner' and cfg.load_head == 'strict'
    assert RUNNERS.get(cfg.runner_type) is DFERRunner
