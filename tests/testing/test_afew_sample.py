# Copyright (c) OpenMMLab. All rights reserved.
import os
import os.path as osp

import numpy as np

from mmstt.datasets import DFER_CLASSES, VideoReader
from mmstt.testing import make_afew_sample
from mmstt.testing.afew_sample import (FRONTAL_APEX, FRONTAL_NEUTRAL,
                                       draw_frontal_face,
                                       frontal_expression_params)


def test_frontal_expression_develops() -> None:
    assert frontal_expression_params('happy', 0.0) == FRONTAL_NEUTRAL
    apex = frontal_expression_params('surprise', 1.0)
    for key, value in FRONTAL_APEX['surprise'].items():
        assert apex[key] == value
    half = frontal_expression_params('sad', 0.5)
    assert half['mouth_curve'] == FRONTAL_APEX['sad']['mouth_curve'] / 2
    images = {}
    for name in DFER_CLASSES:
        img = np.zeros((100, 100, 3), np.uint8)
        draw_frontal_face(img, (50, 50), 80,
                          frontal_expression_params(name, 1.0))
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
        reader = VideoReader(video['path'])
        assert len(reader) == video['num_frames']
        assert reader[0].shape == (240, 320, 3)
        x1, y1, x2, y2 = video['face_boxes'][0]
        assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 240
        assert 80 * 0.95 <= y2 - y1 <= 110 * 1.05
