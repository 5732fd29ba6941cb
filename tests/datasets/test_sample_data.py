# Copyright (c) OpenMMLab. All rights reserved.
import csv
import filecmp
import os
import os.path as osp

import cv2
import decord
import numpy as np

from mmstt.datasets import DFER_CLASSES
from mmstt.datasets.sample_data import (EXPRESSION_APEX, NEUTRAL_FACE,
                                        draw_face, expression_params,
                                        make_afew_sample, make_dfew_sample)


def _read_csv(path: str) -> list:
    with open(path) as f:
        return list(csv.reader(f))


def test_dfew_layout(dfew_sample_root) -> None:
    root = dfew_sample_root
    clips = sorted(os.listdir(osp.join(root, 'Clip', 'clip_224x224')))
    assert clips == [f'{i:05d}' for i in range(1, 22)]
    videos = sorted(os.listdir(osp.join(root, 'Clip', 'original')))
    assert videos == [c + '.mp4' for c in clips]
    frames = sorted(
        os.listdir(osp.join(root, 'Clip', 'clip_224x224', '00001')))
    assert frames[0] == '00001.jpg'
    img = cv2.imread(
        osp.join(root, 'Clip', 'clip_224x224', '00001', frames[0]))
    assert img.shape == (224, 224, 3)
    in_test = []
    for fold in range(1, 6):
        splits = {}
        for split in ('train', 'test'):
            rows = _read_csv(
                osp.join(root, 'EmoLabel_DataSplit',
                         f'{split}(single-labeled)', f'set_{fold}.csv'))
            assert rows[0] == ['video_name', 'label']
            splits[split] = {int(r[0]): int(r[1]) for r in rows[1:]}
        assert not set(splits['train']) & set(splits['test'])
        assert len(splits['train']) + len(splits['test']) == 21
        assert set(splits['train'].values()) == set(range(1, 8))
        in_test += list(splits['test'])
    assert sorted(in_test) == list(range(1, 22))  # one test fold each


def test_dfew_short_clips_and_videos(dfew_sample_root) -> None:
    counts = [
        len(
            os.listdir(
                osp.join(dfew_sample_root, 'Clip', 'clip_224x224',
                         f'{i:05d}'))) for i in range(1, 22)
    ]
    assert sum(n < 16 for n in counts) >= 2
    assert max(counts) >= 30
    video = osp.join(dfew_sample_root, 'Clip', 'original', '00004.mp4')
    reader = decord.VideoReader(video)
    assert len(reader) == counts[3]
    assert reader[0].shape == (224, 224, 3)


def test_deterministic(tmp_path) -> None:
    a = make_dfew_sample(
        str(tmp_path / 'a'),
        seed=3,
        clips_per_class=1,
        frame_size=64,
        write_videos=False)
    b = make_dfew_sample(
        str(tmp_path / 'b'),
        seed=3,
        clips_per_class=1,
        frame_size=64,
        write_videos=False)
    assert [c['num_frames'] for c in a] == [c['num_frames'] for c in b]
    for clip in a:
        rel = osp.relpath(clip['frame_dir'], str(tmp_path / 'a'))
        cmp = filecmp.dircmp(clip['frame_dir'], str(tmp_path / 'b' / rel))
        assert cmp.left_list == cmp.right_list
        assert not cmp.diff_files
        _, mismatch, errors = filecmp.cmpfiles(
            clip['frame_dir'],
            str(tmp_path / 'b' / rel),
            cmp.left_list,
            shallow=False)
        assert not mismatch and not errors
    c = make_dfew_sample(
        str(tmp_path / 'c'),
        seed=4,
        clips_per_class=1,
        frame_size=64,
        write_videos=False)
    assert [x['num_frames'] for x in c] != [x['num_frames'] for x in a]


def test_expression_develops_over_the_clip() -> None:
    assert expression_params('happy', 0.0) == NEUTRAL_FACE
    apex = expression_params('surprise', 1.0)
    for key, value in EXPRESSION_APEX['surprise'].items():
        assert apex[key] == value
    half = expression_params('sad', 0.5)
    assert half['mouth_curve'] == EXPRESSION_APEX['sad']['mouth_curve'] / 2
    images = {}
    for name in DFER_CLASSES:
        img = np.zeros((100, 100, 3), np.uint8)
        draw_face(img, (50, 50), 80, expression_params(name, 1.0))
        images[name] = img
    names = list(images)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            assert not np.array_equal(images[names[i]], images[names[j]])


def test_afew_layout_and_faces(afew_sample_root, tmp_path) -> None:
    for split, per_class in (('Train_AFEW', 2), ('Val_AFEW', 1)):
        folders = sorted(os.listdir(osp.join(afew_sample_root, split)))
        assert folders == sorted([
            'Angry', 'Disgust', 'Fear', 'Happy', 'Neutral', 'Sad', 'Surprise'
        ])
        for folder in folders:
            names = os.listdir(osp.join(afew_sample_root, split, folder))
            assert len(names) == per_class
            assert all(n.endswith('.avi') and len(n) == 13 for n in names)
    videos = make_afew_sample(
        str(tmp_path), seed=1, train_per_class=0, val_per_class=1)
    assert len(videos) == 7
    assert sum(v['num_frames'] < 16 for v in videos) >= 1
    for video in videos:
        reader = decord.VideoReader(video['path'])
        assert len(reader) == video['num_frames']
        assert reader[0].shape == (240, 320, 3)
        x1, y1, x2, y2 = video['face_boxes'][0]
        assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 240
        assert 80 * 0.95 <= y2 - y1 <= 110 * 1.05
