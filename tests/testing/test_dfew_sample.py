# Copyright (c) OpenMMLab. All rights reserved.
import csv
import filecmp
import math
import os
import os.path as osp
from collections import Counter

import cv2
import numpy as np
import pytest

from mmstt.datasets import DFER_CLASSES, DFEWDataset, VideoReader
from mmstt.testing import clip_lengths, make_dfew_sample


def _split(root: str, split: str, fold: int) -> dict:
    """``{clip id: label 0..6}`` of one split file."""
    path = osp.join(root, 'EmoLabel_DataSplit', f'{split}(single-labeled)',
                    f'set_{fold}.csv')
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['video_name', 'label']
    return {int(r[0]): int(r[1]) - 1 for r in rows[1:]}


def test_small_set_layout(dfew_sample_root) -> None:
    root = dfew_sample_root
    clips = sorted(os.listdir(osp.join(root, 'Clip', 'clip_224x224')))
    assert clips == [f'{i:05d}' for i in range(1, 22)]
    videos = sorted(os.listdir(osp.join(root, 'Clip', 'original')))
    assert videos == [c + '.mp4' for c in clips]
    frames = sorted(
        os.listdir(osp.join(root, 'Clip', 'clip_224x224', '00001')))
    assert frames[:2] == ['00001.jpg', '00002.jpg']
    img = cv2.imread(
        osp.join(root, 'Clip', 'clip_224x224', '00001', frames[0]))
    assert img.shape == (112, 112, 3)
    in_test = []
    for fold in range(1, 6):
        train, test = _split(root, 'train', fold), _split(root, 'test', fold)
        assert not set(train) & set(test)
        assert len(train) + len(test) == 21
        assert set(train.values()) == set(range(7))
        in_test += list(test)
    assert sorted(in_test) == list(range(1, 22))  # one test fold each
    assert len(_split(root, 'test', 1)) == 4


def test_small_set_short_clips_and_videos(dfew_sample_root) -> None:
    counts = [
        len(
            os.listdir(
                osp.join(dfew_sample_root, 'Clip', 'clip_224x224',
                         f'{i:05d}'))) for i in range(1, 22)
    ]
    assert [i for i, n in enumerate(counts) if n < 16] == [3, 9, 15]
    assert max(counts) <= 36
    reader = VideoReader(
        osp.join(dfew_sample_root, 'Clip', 'original', '00004.mp4'))
    assert len(reader) == counts[3]
    assert reader[0].shape == (112, 112, 3)


def _files(root: str) -> list:
    return sorted(
        osp.relpath(osp.join(d, f), root) for d, _, fs in os.walk(root)
        for f in fs)


def test_deterministic_whatever_the_workers(tmp_path) -> None:
    opts = dict(
        clips_per_class=1, frame_size=32, frame_range=(6, 10), short_every=0)
    a = make_dfew_sample(str(tmp_path / 'a'), seed=3, num_workers=0, **opts)
    b = make_dfew_sample(str(tmp_path / 'b'), seed=3, num_workers=2, **opts)
    assert a == [
        dict(
            c,
            frame_dir=c['frame_dir'].replace(
                str(tmp_path / 'b'), str(tmp_path / 'a'))) for c in b
    ]
    names = _files(str(tmp_path / 'a'))
    assert names == _files(str(tmp_path / 'b'))
    assert len(names) == sum(c['num_frames'] for c in a) + 10  # + 10 CSVs
    match, mismatch, errors = filecmp.cmpfiles(
        str(tmp_path / 'a'), str(tmp_path / 'b'), names, shallow=False)
    assert not mismatch and not errors
    c = make_dfew_sample(str(tmp_path / 'c'), seed=4, num_workers=0, **opts)
    assert [x['identity'] for x in c] != [x['identity'] for x in a]


def test_clip_lengths_spread_like_dfew() -> None:
    lengths = np.array(
        clip_lengths(700, np.random.default_rng(0), (20, 150), 60))
    assert lengths.max() <= 150
    assert np.mean((lengths >= 40) & (lengths <= 150)) >= 0.6
    assert 14 <= np.sum(lengths < 16) <= 60  # 1 in 25 short
    assert 45 <= np.median(lengths) <= 75
    with pytest.raises(ValueError, match='clips_per_class'):
        make_dfew_sample('unused', clips_per_class=0)


@pytest.fixture(scope='module')
def default_set(tmp_path_factory) -> tuple:
    """The full default set, as ``make demo`` draws it."""
    root = str(tmp_path_factory.mktemp('dfew_default'))
    return root, make_dfew_sample(root, seed=0)


def _colour_features(clip: dict) -> np.ndarray:
    """Mean B, G, R, contrast and brightness change of a clip."""
    n = clip['num_frames']
    picks = np.unique(np.linspace(0, n - 1, 8).round().astype(int))
    frames = [
        cv2.imread(osp.join(clip['frame_dir'], f'{i + 1:05d}.jpg'))
        for i in picks
    ]
    grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(float) for f in frames]
    return np.array([
        *np.mean([f.reshape(-1, 3).mean(0) for f in frames], 0),
        np.mean([g.std() for g in grey]), grey[-1].mean() - grey[0].mean()
    ])


def _nearest_centroid(train_x, train_y, test_x) -> np.ndarray:
    mean, std = train_x.mean(0), train_x.std(0) + 1e-9
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    centroids = np.stack([train_x[train_y == c].mean(0) for c in range(7)])
    dist = ((test_x[:, None] - centroids[None])**2).sum(-1)
    return dist.argmin(1)


@pytest.mark.slow
def test_default_set_counts_folds_and_identities(default_set) -> None:
    root, clips = default_set
    assert len(clips) == 1050
    assert Counter(c['label'] for c in clips) == {c: 150 for c in range(7)}
    train = DFEWDataset(root, fold=1, split='train')
    test = DFEWDataset(root, fold=1, split='test')
    assert len(train) == 840 and len(test) == 210
    test_labels = Counter(info['label'] for info in test)
    assert len(test) >= 70 and test_labels == {c: 30 for c in range(7)}
    by_id = {int(c['clip']): c for c in clips}
    train_ids = {by_id[k]['identity'] for k in _split(root, 'train', 1)}
    test_ids = {by_id[k]['identity'] for k in _split(root, 'test', 1)}
    assert len(train_ids) == 840 and len(test_ids) == 210  # one per clip
    assert not train_ids & test_ids
    lengths = np.array([c['num_frames'] for c in clips])
    on_disk = [len(os.listdir(c['frame_dir'])) for c in clips[:50]]
    assert on_disk == list(lengths[:50])
    assert np.mean((lengths >= 40) & (lengths <= 150)) >= 0.6
    assert np.sum(lengths < 16) >= 1050 // 25


@pytest.mark.slow
def test_default_set_has_no_colour_or_brightness_cue(default_set) -> None:
    root, clips = default_set
    by_id = {int(c['clip']): c for c in clips}
    data = {}
    for split in ('train', 'test'):
        ids = sorted(_split(root, split, 1))
        data[split] = (np.stack([_colour_features(by_id[k]) for k in ids]),
                       np.array([by_id[k]['label'] for k in ids]))
    (train_x, train_y), (test_x, test_y) = data['train'], data['test']
    chance = 1 / len(DFER_CLASSES)
    # chance plus three binomial standard deviations on the test split
    limit = chance + 3 * math.sqrt(chance * (1 - chance) / len(test_y))
    pred = _nearest_centroid(train_x, train_y, test_x)
    assert np.mean(pred == test_y) < limit
    # The same classifier finds a colour cue when there is one: every
    # feature moved by three of its standard deviations per class.
    shift = 3 * train_x.std(0)
    cued = _nearest_centroid(train_x + train_y[:, None] * shift, train_y,
                             test_x + test_y[:, None] * shift)
    assert np.mean(cued == test_y) > 0.9
