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
    assert '--layout {dfew,afew,ferv39k,mafw}' in out.stdout


def test_dfew_layout_is_readable(tool, tmp_path, capsys) -> None:
    out = str(tmp_path / 'dfew')
    assert tool.main([
        out, '--layout', 'dfew', '--clips-per-class', '2', '--frame-size',
        '32', '--workers', '0'
    ]) == 0
    printed = capsys.readouterr().out
    assert 'wrote 14 DFEW-layout clips' in printed
    assert 'fold 1: 11 train / 3 test' in printed
    assert not osp.exists(osp.join(out, 'Clip', 'original'))
    sizes = [len(DFEWDataset(out, fold=f, split='test')) for f in range(1, 6)]
    assert sum(sizes) == 14
    assert len(DFEWDataset(out, fold=1, split='test')) == 3
    # refuses to write into a non-empty folder unless forced
    assert tool.main([out]) == 1
    assert 'not empty' in capsys.readouterr().err


def test_dfew_videos_on_request(tool, tmp_path) -> None:
    out = str(tmp_path / 'dfew')
    assert tool.main([
        out, '--clips-per-class', '1', '--frame-size', '32', '--videos',
        '--workers', '0'
    ]) == 0
    videos = sorted(os.listdir(osp.join(out, 'Clip', 'original')))
    assert videos == [f'{i:05d}.mp4' for i in range(1, 8)]
    dataset = DFEWDataset(out, fold=1, split='train', media='video')
    assert len(dataset) == 5


def test_afew_layout_is_readable(tool, tmp_path) -> None:
    out = str(tmp_path / 'afew')
    assert tool.main([
        out, '--layout', 'afew', '--train-per-class', '1', '--val-per-class',
        '1'
    ]) == 0
    assert len(os.listdir(osp.join(out, 'Train_AFEW'))) == 7
    assert len(AFEWDataset(out, split='val')) == 7
