# Copyright (c) OpenMMLab. All rights reserved.
"""The safe loader, livable: per-load allowlist, schedulers, statistics."""
import logging
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import mmstt  # noqa: F401  (applies the repairs)
from mmstt.testing.toy_runner import build_toy_runner
from mmstt.utils import (CheckpointRefusedError, checkpoint_safe_globals,
                         mmstt_safe_globals)
from mmstt.utils.compat import load_from_local

_runner = build_toy_runner


@pytest.fixture(scope='module')
def runner_ckpt(tmp_path_factory) -> str:
    """A real Runner checkpoint (epoch 1 of a toy run)."""
    work_dir = str(tmp_path_factory.mktemp('ckpt'))
    _runner(work_dir, 1, 'safe_loading_base').train()
    return osp.join(work_dir, 'epoch_1.pth')


# ------------------------------------------------- allowlist per load call
def test_import_leaves_the_process_allowlist_alone():
    # mmstt adds nothing to torch's process-wide allowlist: its entries
    # are in force only inside its own loads.
    process = set(torch.serialization.get_safe_globals())
    assert not process & set(checkpoint_safe_globals())
    with mmstt_safe_globals():
        assert set(checkpoint_safe_globals()) <= set(
            torch.serialization.get_safe_globals())
    assert set(torch.serialization.get_safe_globals()) == process


def test_users_safe_globals_block_leaves_runner_checkpoints_working(
        runner_ckpt):
    before = set(torch.serialization.get_safe_globals())
    # torch's own advice for HistoryBuffer; on exit torch removes the
    # entry, which used to remove mmstt's process-wide entry with it.
    with torch.serialization.safe_globals([HistoryBuffer]):
        inside = _load_checkpoint(runner_ckpt, map_location='cpu')
        # mmstt's load inside the block did not remove the user's entry.
        assert HistoryBuffer in torch.serialization.get_safe_globals()
    assert set(torch.serialization.get_safe_globals()) == before
    after = _load_checkpoint(runner_ckpt, map_location='cpu')
    assert torch.equal(inside['state_dict']['fc.weight'],
                       after['state_dict']['fc.weight'])
    history = after['message_hub']['log_scalars']['train/loss']
    assert type(history) is HistoryBuffer and len(history.data[0]) == 4


def test_users_allowlist_is_restored_exactly_and_theirs_loads(tmp_path):
    original = torch.serialization.get_safe_globals()
    class_entries = [np.float32, (np.float32, 'custom.name')]
    torch.serialization.add_safe_globals(class_entries)
    try:
        snapshot = set(torch.serialization.get_safe_globals())
        with mmstt_safe_globals():
            names = set(torch.serialization.get_safe_globals())
            assert set(class_entries) <= names
            assert len(names) > len(snapshot)
        assert set(torch.serialization.get_safe_globals()) == snapshot
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(original)


class _Reducer:
    """Pickles as ``func(*args)``."""

    def __init__(self, func, args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def test_users_getattr_does_not_widen_mmstt_loads(tmp_path):
    # A user who allowlisted the real getattr for their own files: inside
    # mmstt's loads mmstt's narrow getattr is used (never hash order), and
    # the user's entry is back afterwards.
    path = str(tmp_path / 'walk.pth')
    torch.save({'x': _Reducer(getattr, (np.ndarray, 'tofile'))}, path)
    with torch.serialization.safe_globals([getattr, np.ndarray]):
        for _ in range(3):
            with pytest.raises(CheckpointRefusedError, match='walk.pth'):
                load_from_local(path)
        assert getattr in torch.serialization.get_safe_globals()
        assert torch.load(path, weights_only=True)['x'] is np.ndarray.tofile


# ------------------------------------------------------------- schedulers
def test_one_cycle_lr_resumes(tmp_path):
    # ``end`` is given: MMEngine otherwise defaults it to the first run's
    # max_iters and restores that with the scheduler state.
    schedule = [
        dict(
            type='OneCycleLR',
            eta_max=0.2,
            total_steps=8,
            begin=0,
            end=8,
            by_epoch=False,
            anneal_strategy='cos')
    ]
    # Reference: two epochs in one go.
    whole = _runner(
        str(tmp_path / 'whole'),
        2,
        'one_cycle_whole',
        param_scheduler=schedule)
    whole.train()
    # The same, interrupted after epoch 1 and resumed.
    work_dir = str(tmp_path / 'parts')
    _runner(work_dir, 1, 'one_cycle_1', param_scheduler=schedule).train()
    second = _runner(
        work_dir,
        2,
        'one_cycle_2',
        param_scheduler=schedule,
        resume=True,
        load_from=osp.join(work_dir, 'epoch_1.pth'))
    second.train()
    assert second.iter == whole.iter == 8
    scheduler = second.param_schedulers[0]
    assert scheduler.anneal_func.__qualname__ == \
        'OneCycleParamScheduler._annealing_cos'
    assert scheduler.last_step == whole.param_schedulers[0].last_step
    assert second.optim_wrapper.get_lr()['lr'][0] == pytest.approx(
        whole.optim_wrapper.get_lr()['lr'][0], rel=1e-9)


def test_one_cycle_reference_cannot_be_built(tmp_path):
    from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler
    path = str(tmp_path / 'build.pth')
    torch.save({'s': _Reducer(OneCycleParamScheduler, (None, 'lr', 0.1))},
               path)
    with pytest.raises(CheckpointRefusedError, match='build.pth'):
        load_from_local(path)


# ------------------------------------------------ HistoryBuffer statistics
def weighted_last(self, weight: float = 2.0):
    """A custom statistic, registered in the test that uses it."""
    return self._log_history[-1] * weight


def test_custom_statistics_load_when_registered(tmp_path, monkeypatch):
    monkeypatch.setattr(HistoryBuffer, '_statistics_methods',
                        dict(HistoryBuffer._statistics_methods))
    HistoryBuffer.register_statistics(weighted_last)
    buf = HistoryBuffer()
    buf.update(3.0)
    path = str(tmp_path / 'custom.pth')
    torch.save({'buf': buf}, path)
    loaded = load_from_local(path)['buf']
    assert type(loaded) is HistoryBuffer
    assert loaded.statistics('weighted_last') == 6.0

    # Not registered (a fresh process would not know it): refused with
    # the reason and what to do.
    monkeypatch.setattr(
        HistoryBuffer, '_statistics_methods', {
            k: v
            for k, v in HistoryBuffer._statistics_methods.items()
            if k != 'weighted_last'
        })
    with pytest.raises(CheckpointRefusedError) as err:
        load_from_local(path)
    text = str(err.value)
    assert 'custom.pth' in text and 'weighted_last' in text
    assert 'resave_trusted_checkpoint.py' in text


def _forged_buffer() -> HistoryBuffer:
    """A HistoryBuffer that pickles its statistics with 'mean' -> max."""
    buf = HistoryBuffer()
    buf.update(1.0)
    buf.update(5.0)
    state = dict(buf.__dict__)
    state['statistics_methods'] = dict(mean=HistoryBuffer.max)
    buf.__getstate__ = lambda: state  # what a crafted file would hold
    return buf


def test_file_cannot_remap_statistics_of_the_process(tmp_path):
    table = dict(HistoryBuffer._statistics_methods)
    path = str(tmp_path / 'remap.pth')
    torch.save({'buf': _forged_buffer()}, path)
    with pytest.raises(CheckpointRefusedError, match="'mean'"):
        load_from_local(path)
    assert HistoryBuffer._statistics_methods == table
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean


# ------------------------------------------ MMEngine's loader name and log
def test_loader_keeps_mmengines_name_and_log_line(runner_ckpt):
    loader = CheckpointLoader._get_checkpoint_loader(runner_ckpt)
    assert loader is load_from_local
    assert loader.__name__ == 'load_from_local'
    logger = MMLogger.get_instance('safe_loading_log_test')
    records = []

    class _Keep(logging.Handler):

        def emit(self, record):
            records.append(record.getMessage())

    handler = _Keep()
    logger.addHandler(handler)
    try:
        CheckpointLoader.load_checkpoint(
            runner_ckpt, logger='safe_loading_log_test')
    finally:
        logger.removeHandler(handler)
    assert any(
        m.startswith('Loads checkpoint by local backend from path: ')
        for m in records)


def test_allowlist_is_exact():
    names = {
        e[1] if isinstance(e, tuple) else f'{e.__module__}.{e.__qualname__}'
        for e in checkpoint_safe_globals()
    }
    assert 'builtins.getattr' in names
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in names
    assert not any(
        n.startswith(('os.', 'subprocess.', 'builtins.eval')) for n in names)


# ------------------------------------------------------------- resave tool
class _Custom:
    """A user class the safe loader refuses."""

    def __init__(self) -> None:
        self.note = 'from a trusted source'


def test_resave_tool_makes_a_refused_file_loadable(tmp_path, load_tool):
    model = torch.nn.Linear(3, 2)
    src = str(tmp_path / 'trusted.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(
                epoch=4,
                extra=_Custom(),
                dataset_meta=dict(classes=('a', 'b')),
                score=np.float64(0.5)),
            optimizer=dict(state={})), src)
    with pytest.raises(pickle.UnpicklingError, match='trusted.pth'):
        load_from_local(src)
    tool = load_tool('misc/resave_trusted_checkpoint.py')
    out = str(tmp_path / 'plain.pth')
    dropped = tool.resave(src, out)
    assert any('meta.extra' in d for d in dropped)
    assert any('optimizer' in d for d in dropped)
    loaded = load_from_local(out)
    assert torch.equal(loaded['state_dict']['weight'], model.weight)
    assert loaded['meta']['epoch'] == 4 and loaded['meta']['score'] == 0.5
    assert loaded['meta']['dataset_meta']['classes'] == ('a', 'b')
    with pytest.raises(ValueError, match='differ'):
        tool.resave(out, out)


def test_buffer_loads_into_a_process_with_no_buffer_yet(tmp_path, monkeypatch):
    buf = HistoryBuffer()
    buf.update(2.0)
    buf.update(4.0)
    path = str(tmp_path / 'fresh.pth')
    torch.save({'buf': buf}, path)
    # A fresh process has an empty class-wide table until a buffer is made.
    monkeypatch.setattr(HistoryBuffer, '_statistics_methods', {})
    loaded = load_from_local(path)['buf']
    assert loaded.statistics('mean') == pytest.approx(3.0)
    assert loaded.statistics('max') == pytest.approx(4.0)
