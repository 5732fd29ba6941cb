# Copyright (c) OpenMMLab. All rights reserved.
"""Tests of the stack repairs in :mod:`mmstt.utils.compat`."""
import json
import os
import os.path as osp
import pickle
import pickletools
import sys
import zipfile

import mmengine.dist
import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

import mmstt  # noqa: F401  (applies the repairs)
from mmstt.testing.toy_runner import (ToyPoints, build_toy_runner,
                                      toy_dataloader)
from mmstt.utils import compat, mmstt_safe_globals


def _pickle_globals(path: str) -> set:
    """Every ``module.name`` global referenced by a torch.save zip file."""
    names = set()
    with zipfile.ZipFile(path) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith('.pkl')))
    strings = []
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name == 'GLOBAL':
            names.add(arg.replace(' ', '.'))
        elif opcode.name in ('SHORT_BINUNICODE', 'BINUNICODE', 'UNICODE'):
            strings.append(arg)
        elif opcode.name == 'STACK_GLOBAL':
            names.add(f'{strings[-2]}.{strings[-1]}')
    return names


# ---------------------------------------------------------------- DRN
def test_import_mmaction_models_and_build_tsn():
    import mmaction.models  # noqa: F401  (fails without the repair)
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    from mmaction.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(
        dict(
            type='Recognizer2D',
            backbone=dict(type='ResNet', depth=18, pretrained=None),
            cls_head=dict(
                type='TSNHead',
                num_classes=5,
                in_channels=512,
                average_clips='prob'),
            data_preprocessor=dict(
                type='ActionDataPreprocessor',
                mean=[0., 0., 0.],
                std=[255., 255., 255.],
                format_shape='NCHW')))
    model.eval()
    # Two clips of 3 segments each, uint8 frames as the pipeline packs them.
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=[ActionDataSample().set_gt_label(i) for i in (1, 4)])
    with torch.no_grad():
        results = model.test_step(data)
    assert len(results) == 2
    for sample in results:
        assert sample.pred_score.shape == (5, )
        assert sample.pred_score.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_drn_placeholder_installed_only_when_missing(tmp_path, monkeypatch):
    pkg = 'mmaction.models.localizers.drn'
    monkeypatch.delitem(sys.modules, compat.DRN_MODULE, raising=False)
    monkeypatch.delitem(sys.modules, pkg, raising=False)

    # A tree with the real module: nothing is changed.
    real_root = tmp_path / 'with_drn'
    drn_dir = real_root / 'models' / 'localizers' / 'drn'
    drn_dir.mkdir(parents=True)
    (drn_dir / 'drn.py').write_text('DRN = object\n')
    assert compat.drn_module_available(str(real_root))
    assert compat.install_drn_placeholder(str(real_root)) is False
    assert compat.DRN_MODULE not in sys.modules
    assert pkg not in sys.modules

    # A tree without it (the 1.2.0 wheel): the placeholder goes in.
    broken_root = tmp_path / 'without_drn'
    (broken_root / 'models' / 'localizers').mkdir(parents=True)
    assert not compat.drn_module_available(str(broken_root))
    assert compat.install_drn_placeholder(str(broken_root)) is True
    module = sys.modules[compat.DRN_MODULE]
    assert module.__mmstt_placeholder__
    with pytest.raises(ImportError, match='2714'):
        module.DRN()

    # Once a module is imported, a second call changes nothing.
    assert compat.install_drn_placeholder(str(broken_root)) is False
    assert sys.modules[compat.DRN_MODULE] is module


# ------------------------------------------------------- safe loading
def _runner(work_dir: str, max_epochs: int, **kwargs) -> Runner:
    return build_toy_runner(work_dir, max_epochs, f'toy_{max_epochs}',
                            **kwargs)


def test_runner_checkpoint_resumes_through_safe_loader(tmp_path):
    work_dir = str(tmp_path)
    first = _runner(work_dir, max_epochs=1)
    first.train()
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)

    # The checkpoint really holds objects that torch's default safe loader
    # rejects, and the allowlist covers every one of them.
    names = _pickle_globals(ckpt)
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in names
    with mmstt_safe_globals():
        assert torch.serialization.get_unsafe_globals_in_checkpoint(ckpt) == []

    second = _runner(work_dir, max_epochs=2, resume=True, load_from=ckpt)
    second.train()
    assert second.epoch == 2
    assert second.iter == 2 * 4  # 16 samples / batch 4, two epochs
    # The loss history of epoch 1 came back inside the HistoryBuffer.
    history = second.message_hub.get_scalar('train/loss')
    assert isinstance(history, HistoryBuffer)
    assert len(history.data[0]) == 8
    # Resumed weights are those of the first run's checkpoint, trained on.
    state = compat.load_from_local(ckpt)['state_dict']
    assert not torch.equal(state['fc.weight'], second.model.fc.weight.detach())


class _Evil:
    """Runs a shell command when unpickled by an unsafe loader."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


@pytest.mark.parametrize('force_unsafe_env', [False, True])
def test_checkpoint_with_pickled_callable_is_refused(tmp_path, monkeypatch,
                                                     force_unsafe_env):
    if force_unsafe_env:
        # Even the environment switch that turns the safe loader off where
        # ``weights_only`` is not passed must not open the door.
        monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Evil(str(marker))}, str(path))

    with pytest.raises(pickle.UnpicklingError) as err:
        _load_checkpoint(str(path), map_location='cpu')
    assert str(path) in str(err.value)
    assert not marker.exists()


class _Reducer:
    """Pickles as ``func(*args)``."""

    def __init__(self, func, args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize(
    'payload',
    [
        # getattr is allowlisted only for HistoryBuffer's statistics.
        (getattr, (HistoryBuffer, '__init__')),
        (getattr, (np.ndarray, 'tofile')),
        # Any other callable at all.
        (os.getcwd, ()),
    ])
def test_allowlisted_callables_are_narrow(tmp_path, payload):
    path = tmp_path / 'narrow.pth'
    torch.save({'x': _Reducer(*payload)}, str(path))
    with pytest.raises(pickle.UnpicklingError, match='narrow.pth'):
        compat.load_from_local(str(path))


def test_numpy_objects_and_statistics_round_trip(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(2.5)
    obj = {
        'array': np.arange(6, dtype=np.float32).reshape(2, 3),
        'scalar': np.float64(3.25),
        'int': np.int64(7),
        'buffer': buf,
    }
    path = tmp_path / 'np.pth'
    torch.save(obj, str(path))
    loaded = compat.load_from_local(str(path))
    np.testing.assert_array_equal(loaded['array'], obj['array'])
    assert loaded['scalar'] == np.float64(3.25)
    assert loaded['int'] == 7 and loaded['int'].dtype == np.int64
    assert loaded['buffer'].mean() == pytest.approx(2.0)
    assert loaded['buffer'].statistics('max') == pytest.approx(2.5)


def test_missing_checkpoint_names_file(tmp_path):
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        compat.load_from_local(str(missing))


# ------------------------------------------- test metrics dump, rank 0 only
class _CountMetric(BaseMetric):
    """Counts the test samples."""

    def process(self, data_batch, data_samples) -> None:
        self.results.append(len(data_samples))

    def compute_metrics(self, results: list) -> dict:
        return dict(samples=float(sum(results)))


@pytest.mark.parametrize('main_process', [True, False])
def test_test_metrics_json_written_by_the_main_process_only(
        tmp_path, monkeypatch, main_process):
    runner = build_toy_runner(
        str(tmp_path),
        1,
        f'toy_test_dump_{main_process}',
        test_dataloader=toy_dataloader(shuffle=False),
        test_cfg=dict(),
        test_evaluator=_CountMetric())
    if not main_process:
        # What every rank but 0 sees in a multi-process test.
        monkeypatch.setattr(mmengine.dist, 'is_main_process', lambda: False)
    runner.test()
    path = osp.join(runner.log_dir, f'{runner.timestamp}.json')
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        assert 'Epoch(test) [4/4]' in f.read()  # every rank logs the line
    assert osp.isfile(path) == main_process
    if main_process:
        with open(path) as f:
            assert json.load(f)['samples'] == len(ToyPoints())
