# Copyright (c) OpenMMLab. All rights reserved.
"""Training faults: NaN stops at once, no bad checkpoint, plain resume."""
import glob
import logging
import os
import os.path as osp

import pytest
import torch

from mmstt.engine import (CheckpointReadError, NonFiniteLossError,
                          NonFiniteWeightsError)


def _pth(work_dir):
    return sorted(
        osp.basename(p) for p in glob.glob(osp.join(work_dir, '*.pth')))


class _Records(logging.Handler):

    def __init__(self) -> None:
        super().__init__()
        self.messages = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_lr_1e6_stops_with_epoch_and_iteration(tmp_path, toy):
    work_dir = str(tmp_path)
    runner = toy.runner(work_dir, max_epochs=3, lr=1e6)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    text = str(err.value)
    assert 'epoch 1' in text and 'iteration' in text
    # The error is raised in the first epoch, at the first non-finite loss.
    first_bad = int(text.split('iteration ')[1].split(' ')[0])
    assert 1 <= first_bad <= 6
    assert runner.iter == first_bad - 1  # stopped at that very iteration
    # Nothing was saved, nothing was marked best.
    assert _pth(work_dir) == []
    assert not osp.exists(osp.join(work_dir, 'last_checkpoint'))


def test_non_finite_weights_are_never_saved(tmp_path, toy):
    work_dir = str(tmp_path)
    runner = toy.runner(work_dir, max_epochs=1)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    with torch.no_grad():
        runner.model.backbone.weight[0, 0] = float('inf')
        runner.model.cls_head.fc_cls.bias[1] = float('nan')
    with pytest.raises(NonFiniteWeightsError) as err:
        runner.save_checkpoint(work_dir, 'epoch_1.pth')
    text = str(err.value)
    assert '2 tensors' in text and 'backbone.weight' in text
    assert 'cls_head.fc_cls.bias' in text
    assert _pth(work_dir) == []


def test_finite_run_saves_and_marks_best(tmp_path, toy):
    # The guards do not get in the way of a healthy run.
    work_dir = str(tmp_path)
    toy.runner(work_dir, max_epochs=2).train()
    names = _pth(work_dir)
    assert 'epoch_1.pth' in names and 'epoch_2.pth' in names
    assert any(n.startswith('best_dfer_uar_epoch_') for n in names)


def test_resume_with_nothing_to_resume_says_so(tmp_path, toy):
    work_dir = str(tmp_path / 'empty')
    runner = toy.runner(work_dir, max_epochs=1, resume=True)
    records = _Records()
    runner.logger.addHandler(records)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(records)
    text = '\n'.join(records.messages)
    assert f'--resume: nothing to resume in {work_dir}' in text
    assert 'starts from the initial weights' in text
    assert 'Auto resumed from the latest checkpoint None' not in text
    assert runner.epoch == 1  # and it trained from scratch


def test_resume_from_half_written_latest_checkpoint_names_it(tmp_path, toy):
    work_dir = str(tmp_path)
    toy.runner(work_dir, max_epochs=1).train()
    latest = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    size = os.path.getsize(latest)
    with open(latest, 'rb+') as f:
        f.truncate(size // 3)  # the process died while saving
    runner = toy.runner(work_dir, max_epochs=2, resume=True)
    with pytest.raises(CheckpointReadError) as err:
        runner.train()
    assert latest in str(err.value)
    assert f'({size // 3:,} bytes)' in str(err.value)


def test_resume_when_last_checkpoint_names_a_missing_file(tmp_path, toy):
    work_dir = str(tmp_path)
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'epoch_9.pth'))
    runner = toy.runner(work_dir, max_epochs=1, resume=True)
    with pytest.raises(FileNotFoundError, match='epoch_9.pth'):
        runner.train()
