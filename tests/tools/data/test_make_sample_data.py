# Copyright (c) OpenMMLab. All rights reserved.
import os
import os.path as osp
import subprocess
import sys

import pytest

import mmstt  # noqa: F401
from mmstt.datasets import AFEWDataset, DFEWDataset

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TOOL = osp.join(REPO, 'tools', 'data', 'make_sample_data.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('data/make_sample_data.py')


def test_help() -> None:
    out = subprocess.run([sys.executable, TOOL, '--help'],
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert out.returncode == 0
    assert '--layout {dfew,afew}' in out.stdout


def test_dfew_layout_is_readable(tool, tmp_path, capsys) -> None:
    out = str(tmp_path / 'dfew')
    assert tool.main(
        [out, '--layout', 'dfew', '--clips-per-class', '2',
         '--no-videos']) == 0
    assert 'wrote 14 DFEW-layout clips' in capsys.readouterr().out
    assert not osp.exists(osp.join(out, 'Clip', 'original'))
    sizes = [len(DFEWDataset(out, fold=f, split='test')) for f in range(1, 6)]
    assert sum(sizes) == 14
    # refuses to write into a non-empty folder unless forced
    assert tool.main([out]) == 1
    assert 'not empty' in capsys.readouterr().err


def test_afew_layout_is_readable(tool, tmp_path) -> None:
    out = str(tmp_path / 'afew')
    assert tool.main([
        out, '--layout', 'afew', '--train-per-class', '1', '--val-per-class',
        '1'
    ]) == 0
    assert len(os.listdir(osp.join(out, 'Train_AFEW'))) == 7
    assert len(AFEWDataset(out, split='val')) == 7
