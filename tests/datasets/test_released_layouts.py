# Copyright (c) OpenMMLab. All rights reserved.
"""The FERV39k/MAFW look-alikes keep the released layouts' details."""
import hashlib
import os
import os.path as osp

import pytest

from mmstt.datasets import VideoReader
from mmstt.testing import make_ferv39k_sample, make_mafw_sample


def _lists(root: str):
    base = osp.join(root, 'Train & Test Set', 'single', 'no_caption')
    for fold in range(1, 6):
        for split in ('train', 'test'):
            yield osp.join(base, f'set_{fold}', f'{split}.txt')


def test_mafw_lists_are_crlf_everywhere(mafw_sample_root) -> None:
    for path in _lists(mafw_sample_root):
        data = open(path, 'rb').read()
        assert data.endswith(b'\r\n')
        assert data.count(b'\n') == data.count(b'\r\n') > 0
        assert data.decode('ascii')  # ASCII, as released


def test_ferv39k_lists_crlf_and_lf(ferv39k_sample_root) -> None:
    setups = osp.join(ferv39k_sample_root, '4_setups', 'All_scenes')
    train = open(osp.join(setups, 'train_All.csv'), 'rb').read()
    test = open(osp.join(setups, 'test_All.csv'), 'rb').read()
    assert train.count(b'\r\n') == train.count(b'\n') == 14
    assert b'\r' not in test and test.count(b'\n') == 7


@pytest.mark.parametrize('which', ['ferv39k', 'mafw'])
def test_frames_named_both_ways(which, ferv39k_sample_root,
                                mafw_sample_root) -> None:
    root = ferv39k_sample_root if which == 'ferv39k' else mafw_sample_root
    firsts = set()
    for folder, _, files in os.walk(root):
        frames = [f for f in files if f.endswith(('.jpg', '.png'))]
        if frames:
            firsts.add(min(frames, key=lambda f: int(osp.splitext(f)[0])))
    stems = {osp.splitext(f)[0] for f in firsts}
    assert stems == {'0', '00001'}
    if which == 'mafw':
        assert {osp.splitext(f)[1] for f in firsts} == {'.jpg', '.png'}


def test_mafw_off_by_one_clip(mafw_sample_root) -> None:
    folder = osp.join(mafw_sample_root, 'data', 'frames', '00003')
    video = osp.join(mafw_sample_root, 'data', 'clips', '00003.mp4')
    n = len(os.listdir(folder))
    assert VideoReader(video).num_frames == n - 1
    other = osp.join(mafw_sample_root, 'data', 'clips', '00004.mp4')
    assert VideoReader(other).num_frames == len(
        os.listdir(osp.join(mafw_sample_root, 'data', 'frames', '00004')))


def _digest(root: str) -> str:
    h = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            h.update(osp.relpath(osp.join(folder, name), root).encode())
            h.update(open(osp.join(folder, name), 'rb').read())
    return h.hexdigest()


def test_same_seed_same_files(tmp_path) -> None:
    kwargs = dict(train_per_class=1, test_per_class=1, size=32)
    a = make_ferv39k_sample(str(tmp_path / 'a'), seed=3, **kwargs)
    make_ferv39k_sample(str(tmp_path / 'b'), seed=3, **kwargs)
    assert _digest(str(tmp_path / 'a')) == _digest(str(tmp_path / 'b'))
    assert len(a) == 14
    with pytest.raises(ValueError, match='>= 5'):
        make_mafw_sample(str(tmp_path / 'm'), clips_per_class=4)
