# Copyright (c) OpenMMLab. All rights reserved.
import codecs
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TOOL = osp.join(REPO, 'tools', 'data', 'ferv39k', 'check_ferv39k.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('data/ferv39k/check_ferv39k.py')


def _lists(root):
    return root / '4_setups' / 'All_scenes'


def test_help() -> None:
    out = subprocess.run([sys.executable, TOOL, '--help'],
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert out.returncode == 0
    assert 'DATA_ROOT' in out.stdout.upper() and '--decode' in out.stdout
    assert '--frame-dir' in out.stdout


def test_clean_copy(tool, ferv39k_sample_root, capsys) -> None:
    code = tool.main([ferv39k_sample_root, '--decode', 'ends'])
    out = capsys.readouterr().out
    assert code == 0, out
    assert 'no problem found' in out
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line.split()[:1] in (['train'], ['test'])
    }
    assert rows['train'][1] == '14' and rows['test'][1] == '7'
    assert [int(v) for v in rows['train'][2:9]] == [2] * 7
    # the scene table adds up to the split sizes
    scene_rows = [
        line.split() for line in out.splitlines()
        if line.split()[:1] in (['Action'], ['DailyLife'], ['Talkshow'])
    ]
    assert sum(int(r[1]) for r in scene_rows) == 14
    assert sum(int(r[2]) for r in scene_rows) == 7


def test_broken_copy(tool, ferv39k_sample_root, tmp_path, capsys) -> None:
    root = tmp_path / 'f'
    shutil.copytree(ferv39k_sample_root, root)
    train = _lists(root) / 'train_All.csv'
    lines = train.read_bytes().decode().split('\r\n')
    missing, empty = lines[0].split()[0], lines[1].split()[0]
    shutil.rmtree(root / '2_ClipsforFaceCrop' / missing)
    folder = root / '2_ClipsforFaceCrop' / empty
    for name in os.listdir(folder):
        os.remove(folder / name)
    # lines[2] is a Sad clip: list it as Happy
    assert '/Sad/' in lines[2]
    lines[2] = lines[2].split()[0] + ' Happy'
    train.write_bytes(
        ('\r\n'.join(lines[:-1] +
                     ['Action/Sad/0099 Joy', 'Crime/Fear/0001 Fear']) +
         '\r\n').encode())
    # a test list saved as UTF-16 by a spreadsheet: read, but noted
    test = _lists(root) / 'test_All.csv'
    test.write_bytes(codecs.BOM_UTF16_LE +
                     test.read_text().encode('utf-16-le'))
    code = tool.main([str(root), '--max-problems', '100'])
    out = capsys.readouterr().out
    assert code == 1
    assert f'{missing} does not exist' in out.replace(os.sep, '/')
    assert f'{empty} is empty' in out.replace(os.sep, '/')
    assert "unknown emotion 'Joy'" in out
    assert "emotion folder 'Sad'" in out
    assert 'Crime' in out  # the listed clip has no folder
    assert 'test_All.csv: encoded as utf-16' in out


def test_empty_and_undecodable_lists(tool, ferv39k_sample_root, tmp_path,
                                     capsys) -> None:
    root = tmp_path / 'f'
    shutil.copytree(ferv39k_sample_root, root)
    (_lists(root) / 'test_All.csv').write_bytes(b'\r\n')
    (_lists(root) / 'train_All.csv').write_bytes(b'Action/Sad/0000 Sad\xe9\n')
    assert tool.main([str(root)]) == 1
    out = capsys.readouterr().out
    assert 'no clips listed in' in out and 'test_All.csv' in out
    assert 'train_All.csv:1: not UTF-8' in out
