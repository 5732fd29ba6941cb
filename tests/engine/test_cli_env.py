# Copyright (c) OpenMMLab. All rights reserved.
"""CLI and environment: launcher check, glob hints, import from anywhere."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmstt.engine.runner_setup import (TORCHRUN_ENV, add_common_arguments,
                                       check_launcher)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def no_torchrun(monkeypatch):
    for key in TORCHRUN_ENV + ('SLURM_PROCID', 'SLURM_NTASKS',
                               'SLURM_NODELIST'):
        monkeypatch.delenv(key, raising=False)


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_launcher_pytorch_outside_torchrun_is_one_line(load_tool, no_torchrun,
                                                       tool):
    module = load_tool(f'{tool}.py')
    argv = ['configs/does_not_matter.py']
    if tool == 'test':
        argv.append('ckpt.pth')
    with pytest.raises(SystemExit) as err:
        module.main(argv + ['--launcher', 'pytorch'])
    text = str(err.value)
    assert '\n' not in text
    assert f'tools/dist_{tool}.sh' in text and 'torchrun' in text
    assert 'RANK' in text  # says what is missing, not KeyError: 'RANK'


def test_launcher_slurm_outside_srun(no_torchrun):
    with pytest.raises(SystemExit, match='tools/slurm_test.sh'):
        check_launcher('slurm', 'test')


def test_launcher_check_passes_under_torchrun():
    env = {k: '0' for k in TORCHRUN_ENV}
    check_launcher('pytorch', 'train', environ=env)
    check_launcher('none', 'train', environ={})


def _cfg() -> Config:
    return Config(
        dict(
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            test_evaluator=dict(type='DFERMetric'),
            load_from=None,
            resume=False))


def test_glob_hint_for_train_names_load_from(load_tool, tmp_path):
    for epoch in (1, 2):
        (tmp_path / f'best_dfer_uar_epoch_{epoch}.pth').write_bytes(b'x')
    train = load_tool('train.py')
    pattern = str(tmp_path / 'best_*.pth')
    args = train.parse_args(['c.py', '--cfg-options', f'load_from={pattern}'])
    with pytest.raises(FileNotFoundError) as err:
        train.merge_args(_cfg(), args)
    assert '--cfg-options load_from=PATH' in str(err.value)
    args = train.parse_args(['c.py', '--resume', pattern])
    with pytest.raises(FileNotFoundError, match='--resume PATH'):
        train.merge_args(_cfg(), args)


def test_glob_hint_for_test_names_the_positional_checkpoint(
        load_tool, tmp_path):
    for epoch in (1, 2):
        (tmp_path / f'best_dfer_uar_epoch_{epoch}.pth').write_bytes(b'x')
    test = load_tool('test.py')
    args = test.parse_args(['c.py', str(tmp_path / 'best_*.pth')])
    with pytest.raises(FileNotFoundError) as err:
        test.merge_args(_cfg(), args)
    assert 'as CHECKPOINT' in str(err.value)
    assert 'load_from' not in str(err.value)


def test_test_tool_loads_strictly_and_never_resumes(load_tool, tmp_path):
    ckpt = tmp_path / 'epoch_3.pth'
    ckpt.write_bytes(b'x')
    test = load_tool('test.py')
    cfg = _cfg()
    cfg.load_head = 'map_classes'
    cfg = test.merge_args(cfg, test.parse_args(['c.py', str(ckpt)]))
    assert cfg.load_from == str(ckpt)
    assert cfg.load_head == 'strict' and cfg.resume is False


def test_show_config_reaches_the_config(load_tool, tmp_path):
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_arguments(parser, 'train')
    args = parser.parse_args(['x.py', '--show-config'])
    assert args.show_config is True
    assert parser.parse_args(['x.py']).show_config is False
    from mmstt.engine.runner_setup import load_config
    cfg_file = tmp_path / 'c.py'
    cfg_file.write_text('a = 1\n')
    args.config = str(cfg_file)
    cfg = load_config(args, 'train')
    assert cfg.show_config is True and cfg.launcher == 'none'


def _python(cwd: str, code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, '-c', code],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)


IMPORT_CHECK = ('import mmstt, mmaction.models; '
                'print("FILE", mmstt.__file__); '
                'from mmaction.registry import RUNNERS; '
                'print("RUNNER", RUNNERS.get("DFERRunner").__name__)')


def test_import_next_to_a_clone_named_mmstt(tmp_path):
    # A clone folder named ``mmstt`` (no __init__.py at its top) next to
    # the working directory used to be imported as an empty namespace
    # package, so none of mmstt's repairs ran.
    os.symlink(REPO, str(tmp_path / 'mmstt'))
    result = _python(str(tmp_path), IMPORT_CHECK)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = dict(
        line.split(' ', 1) for line in result.stdout.splitlines()
        if line.startswith(('FILE', 'RUNNER')))
    assert lines['FILE'].endswith(osp.join('mmstt', '__init__.py'))
    assert lines['RUNNER'] == 'DFERRunner'


@pytest.mark.slow
def test_import_from_the_clones_parent_folder():
    result = _python(osp.dirname(REPO), IMPORT_CHECK)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'RUNNER DFERRunner' in result.stdout
