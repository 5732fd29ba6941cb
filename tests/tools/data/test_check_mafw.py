# Copyright (c) OpenMMLab. All rights reserved.
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TOOL = osp.join(REPO, 'tools', 'data', 'mafw', 'check_mafw.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('data/mafw/check_mafw.py')


def _list(root, fold, split):
    return (root / 'Train & Test Set' / 'single' / 'no_caption' /
            f'set_{fold}' / f'{split}.txt')


def test_help() -> None:
    out = subprocess.run([sys.executable, TOOL, '--help'],
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert out.returncode == 0
    assert '--videos' in out.stdout and '--frame-dir' in out.stdout


def test_clean_copy_with_videos(tool, mafw_sample_root, capsys) -> None:
    code = tool.main([mafw_sample_root, '--videos', '--decode', 'ends'])
    out = capsys.readouterr().out
    assert code == 0, out
    assert 'no problem found' in out
    header = [
        line for line in out.splitlines() if line.lstrip().startswith('fold')
    ][0]
    assert 'contempt' in header and 'disappointment' in header
    rows = [
        line.split() for line in out.splitlines()
        if line.split()[1:2] in (['train'], ['test'])
    ]
    assert len(rows) == 10
    for row in rows:
        n = 44 if row[1] == 'train' else 11
        assert int(row[2]) == n
        assert sum(int(v) for v in row[3:14]) == n
    # the generated off-by-one clip is a note, not a problem
    assert '00003 holds' in out and 'off by one' in out


def test_broken_copy(tool, mafw_sample_root, tmp_path, capsys) -> None:
    root = tmp_path / 'm'
    shutil.copytree(mafw_sample_root, root)
    test1 = _list(root, 1, 'test')
    lines = test1.read_bytes().decode().split('\r\n')[:-1]
    missing, empty = lines[0].split()[0][:5], lines[1].split()[0][:5]
    shutil.rmtree(root / 'data' / 'frames' / missing)
    for name in os.listdir(root / 'data' / 'frames' / empty):
        os.remove(root / 'data' / 'frames' / empty / name)
    # a label typo, a compound label, LF line endings
    test1.write_bytes(
        ('\n'.join(lines + ['09998.mp4 angry', '09999.mp4 anger_disgust']) +
         '\n').encode())
    # fold 2's test list empty: its clips are in no test list any more
    _list(root, 2, 'test').write_bytes(b'')
    # a video cut to 3 frames: far from its frame folder
    clip = lines[3].split()[0]
    (root / 'data' / 'clips' / clip).write_bytes(
        (root / 'data' / 'clips' / clip).read_bytes()[:600])
    code = tool.main([str(root), '--videos', '--max-problems', '200'])
    out = capsys.readouterr().out
    assert code == 1
    assert f'{missing} does not exist' in out
    assert f'{empty} is empty' in out
    assert "unknown label 'angry'" in out
    assert 'compound label' in out
    assert 'set_1/test.txt: LF line endings' in out
    assert 'no clips listed in' in out and 'set_2/test.txt' in out
    assert 'not in exactly one test list' in out
    assert clip[:5] in out.split('problem(s):')[1]
