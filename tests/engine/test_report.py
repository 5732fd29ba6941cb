# Copyright (c) OpenMMLab. All rights reserved.
"""What a user looks at: summaries, learning curve, reported confusion."""
import glob
import json
import logging
import os.path as osp
import re

import pytest


class _Records(logging.Handler):

    def __init__(self) -> None:
        super().__init__()
        self.messages = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _run(runner, method='train'):
    records = _Records()
    runner.logger.addHandler(records)
    try:
        result = getattr(runner, method)()
    finally:
        runner.logger.removeHandler(records)
    return result, '\n'.join(records.messages)


@pytest.fixture(scope='module')
def trained(tmp_path_factory, toy):
    """A 3-epoch toy training reporting the best epoch."""
    work_dir = str(tmp_path_factory.mktemp('report'))
    runner = toy.runner(work_dir, max_epochs=3, lr=0.05)
    _, log = _run(runner)
    best = glob.glob(osp.join(work_dir, 'best_dfer_uar_epoch_*.pth'))
    assert len(best) == 1
    best_epoch = int(re.search(r'epoch_(\d+)\.pth', best[0]).group(1))
    return dict(
        work_dir=work_dir,
        log=log,
        best=best[0],
        best_epoch=best_epoch,
        runner=runner)


def test_learning_curve_files(trained):
    work_dir = trained['work_dir']
    with open(osp.join(work_dir, 'learning_curve.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with open(osp.join(work_dir, 'learning_curve.json')) as f:
        curve = json.load(f)
    # 24 clips / batch 4 = 6 iterations per epoch, 3 epochs.
    assert curve['iters_per_epoch'] == 6
    assert [e['iter'] for e in curve['train_loss']] == list(range(1, 19))
    assert [e['epoch'] for e in curve['train_loss']] == sorted([1, 2, 3] * 6)
    assert [v['epoch'] for v in curve['val']] == [1, 2, 3]
    assert all(0 <= v['uar'] <= 100 for v in curve['val'])


def test_confusion_matrix_is_the_best_epochs(trained):
    work_dir, best_epoch = trained['work_dir'], trained['best_epoch']
    with open(osp.join(work_dir, 'confusion_matrix_best.json')) as f:
        confusion = json.load(f)
    assert osp.isfile(osp.join(work_dir, 'confusion_matrix_best.png'))
    assert confusion['epochs_trained'] == best_epoch
    with open(osp.join(work_dir, 'learning_curve.json')) as f:
        val = {v['epoch']: v for v in json.load(f)['val']}
    assert confusion['uar'] == pytest.approx(val[best_epoch]['uar'])
    # The best epoch has the highest UAR (the first of equals).
    uars = [val[e]['uar'] for e in sorted(val)]
    assert best_epoch == 1 + uars.index(max(uars))
    # In percent of each ground-truth class.
    for row in confusion['confusion_matrix_percent']:
        assert sum(row) == pytest.approx(100.0)


def test_training_summary(trained):
    log, work_dir = trained['log'], trained['work_dir']
    summary = log[log.index('Training finished after 3 epochs'):]
    assert (f'Reported checkpoint (best epoch, dfer_checkpoint=\'best\'): '
            f'epoch {trained["best_epoch"]}, UAR') in summary
    assert f'checkpoint:       {trained["best"]}' in summary
    assert osp.join(work_dir, 'epoch_3.pth') in summary
    assert osp.join(work_dir, 'confusion_matrix_best.json') in summary
    assert osp.join(work_dir, 'learning_curve.png') in summary
    # Progress within the first epoch (the logger interval is 10, an
    # epoch has 6 iterations).
    assert 'Training started: epoch 1, iteration 1/6 done, loss' in log


def test_test_summary(trained, toy):
    runner = toy.runner(
        osp.join(trained['work_dir'], 'test'),
        load_from=trained['best'],
        experiment_name='report_test')
    metrics, log = _run(runner, 'test')
    summary = log[log.index('Test finished: UAR'):]
    assert f'{metrics["dfer/uar"]:.2f} %' in summary.splitlines()[0]
    assert (f'{trained["best"]} (best checkpoint of epoch '
            f'{trained["best_epoch"]})') in summary
    assert '_confusion_matrix.json' in summary


def test_last_epoch_reporting(tmp_path, toy):
    runner = toy.runner(str(tmp_path), max_epochs=2, dfer_checkpoint='last')
    _, log = _run(runner)
    with open(osp.join(str(tmp_path), 'confusion_matrix_last.json')) as f:
        assert json.load(f)['epochs_trained'] == 2
    assert not osp.exists(
        osp.join(str(tmp_path), 'confusion_matrix_best.json'))
    assert "(last epoch, dfer_checkpoint='last'): epoch 2" in log
    assert osp.join(str(tmp_path), 'epoch_2.pth') in log


def test_wrong_dfer_checkpoint_fails_before_training(tmp_path, toy):
    runner = toy.runner(str(tmp_path), max_epochs=1, dfer_checkpoint='top')
    with pytest.raises(ValueError, match="'best', 'last'"):
        runner.train()
    assert glob.glob(osp.join(str(tmp_path), '*.pth')) == []


@pytest.mark.parametrize('show', [False, True])
def test_config_dump_goes_to_the_log_file(tmp_path, toy, capsys, show):
    runner = toy.runner(
        str(tmp_path), max_epochs=1, validate=False, show_config=show)
    runner.train()
    console = capsys.readouterr().out
    with open(runner.logger.log_file) as f:
        log_file = f.read()
    for dump in ('Config:\n', 'System environment:',
                 'Hooks will be executed in the following order'):
        assert dump in log_file
        assert (dump in console) is show
    if not show:
        assert f'full config written to {runner.logger.log_file}' in console
    assert 'Training finished after 1 epochs' in console
