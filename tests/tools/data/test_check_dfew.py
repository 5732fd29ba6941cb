# Copyright (c) OpenMMLab. All rights reserved.
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TOOL = osp.join(REPO, 'tools', 'data', 'dfew', 'check_dfew.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('data/dfew/check_dfew.py')


def test_help() -> None:
    out = subprocess.run([sys.executable, TOOL, '--help'],
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert out.returncode == 0
    assert 'DATA_ROOT' in out.stdout.upper() and '--decode' in out.stdout


def test_clean_copy(tool, dfew_sample_root, capsys) -> None:
    code = tool.main([dfew_sample_root, '--videos', '--decode', 'ends'])
    out = capsys.readouterr().out
    assert code == 0, out
    assert 'no problem found' in out
    lines = out.splitlines()
    header = [line for line in lines if line.lstrip().startswith('fold')][0]
    assert 'happy' in header and 'fear' in header and '<16f' in header
    rows = [
        line.split() for line in lines
        if line.split()[:1] in (['1'],
                                ['5']) and line.split()[1:2] in (['train'],
                                                                 ['test'])
    ]
    assert len(rows) == 4  # fold 1 and 5, train and test
    fold1_train = [r for r in rows if r[:2] == ['1', 'train']][0]
    assert fold1_train[2] == '17'
    assert sum(int(v) for v in fold1_train[3:10]) == 17


def test_broken_copy(tool, dfew_sample_root, tmp_path, capsys) -> None:
    root = tmp_path / 'dfew'
    shutil.copytree(dfew_sample_root, root)
    split = root / 'EmoLabel_DataSplit'
    # a label outside 1..7, a malformed row, a missing and an empty folder,
    # a corrupt frame and a missing split file
    test3 = split / 'test(single-labeled)' / 'set_3.csv'
    test3.write_text(test3.read_text() + '99,8\nbroken\n')
    shutil.rmtree(root / 'Clip' / 'clip_224x224' / '00005')
    shutil.rmtree(root / 'Clip' / 'clip_224x224' / '00006')
    os.makedirs(root / 'Clip' / 'clip_224x224' / '00006')
    frame = root / 'Clip' / 'clip_224x224' / '00007' / '00001.jpg'
    frame.write_bytes(b'\xff\xd8garbage')
    os.remove(split / 'train(single-labeled)' / 'set_4.csv')
    code = tool.main([str(root), '--decode', 'ends', '--max-problems', '100'])
    out = capsys.readouterr().out
    assert code == 1
    assert 'set_3.csv:' in out and 'label 8 outside 1..7' in out
    assert 'malformed row' in out
    assert osp.join('clip_224x224', '00005') + ' does not exist' in out
    assert osp.join('clip_224x224', '00006') + ' is empty' in out
    assert str(frame) in out
    assert 'train split file of fold 4 not found' in out


def test_overlap_and_label_conflict(tool, dfew_sample_root, tmp_path,
                                    capsys) -> None:
    root = tmp_path / 'dfew'
    shutil.copytree(
        osp.join(dfew_sample_root, 'EmoLabel_DataSplit'),
        root / 'EmoLabel_DataSplit')
    os.symlink(osp.join(dfew_sample_root, 'Clip'), root / 'Clip')
    train1 = root / 'EmoLabel_DataSplit' / 'train(single-labeled)' / \
        'set_1.csv'
    test1 = (root / 'EmoLabel_DataSplit' / 'test(single-labeled)' /
             'set_1.csv').read_text().splitlines()
    clip, label = test1[1].split(',')
    other = int(label) % 7 + 1
    train1.write_text(train1.read_text() + f'{clip},{other}\n')
    assert tool.main([str(root)]) == 1
    out = capsys.readouterr().out
    assert 'fold 1: 1 clip(s) in both train and test' in out
    assert 'different labels' in out


@pytest.mark.parametrize('content', [b'video_name,label\n', b''])
def test_empty_split_is_a_problem(tool, dfew_sample_root, tmp_path, capsys,
                                  content) -> None:
    root = tmp_path / 'dfew'
    shutil.copytree(
        osp.join(dfew_sample_root, 'EmoLabel_DataSplit'),
        root / 'EmoLabel_DataSplit')
    os.symlink(osp.join(dfew_sample_root, 'Clip'), root / 'Clip')
    test2 = root / 'EmoLabel_DataSplit' / 'test(single-labeled)' / 'set_2.csv'
    test2.write_bytes(content)
    assert tool.main([str(root)]) == 1
    out = capsys.readouterr().out
    assert f'no clips listed in {test2}' in out
    assert 'no problem found' not in out
