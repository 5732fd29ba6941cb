# Copyright (c) OpenMMLab. All rights reserved.
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmstt.datasets.sample_data import make_afew_sample

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TOOL = osp.join(REPO, 'tools', 'data', 'afew', 'extract_faces.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('data/afew/extract_faces.py')


@pytest.fixture(scope='module')
def small_afew(tmp_path_factory):
    """Seven generated validation videos and their true face boxes."""
    root = tmp_path_factory.mktemp('afew_small')
    videos = make_afew_sample(
        str(root),
        seed=5,
        train_per_class=0,
        val_per_class=1,
        frame_range=(10, 14),
        short_range=(8, 9))
    return str(root), videos


def test_help() -> None:
    out = subprocess.run([sys.executable, TOOL, '--help'],
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert out.returncode == 0
    assert 'Haar' in out.stdout and '--margin' in out.stdout


def test_finds_the_drawn_face(tool, small_afew) -> None:
    root, videos = small_afew
    args = tool.parse_args([root, root + '_out'])
    cascade = tool.load_cascade(args.cascade)
    for video in videos:
        frames = tool.read_frames(video['path'])
        assert len(frames) == video['num_frames']
        hits = 0
        for frame, truth in zip(frames, video['face_boxes']):
            box = tool.detect_face(frame, cascade, args.scale_factor,
                                   args.min_neighbors, args.min_face,
                                   args.detect_side)
            if box is None:
                continue
            hits += 1
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            tx, ty = (truth[0] + truth[2]) / 2, (truth[1] + truth[3]) / 2
            head = truth[3] - truth[1]
            assert abs(cx - tx) < 0.25 * head and abs(cy - ty) < 0.25 * head
            assert 0.4 * head < box[2] - box[0] < 1.2 * head
        assert hits >= len(frames) // 2, video['path']


def test_extracts_same_tree_and_resumes(tool, small_afew, tmp_path,
                                        capsys) -> None:
    root, videos = small_afew
    dst = str(tmp_path / 'faces')
    assert tool.main([root, dst, '--size', '64']) == 0
    for video in videos:
        rel = osp.relpath(osp.splitext(video['path'])[0], root)
        folder = osp.join(dst, rel)
        names = sorted(os.listdir(folder))
        assert len(names) == video['num_frames']
        assert names[0] == '00001.jpg'
        crop = cv2.imread(osp.join(folder, names[0]))
        assert crop.shape == (64, 64, 3)
    report = json.loads(open(osp.join(dst, tool.REPORT_NAME)).read())
    assert report['extracted'] == 7 and report['no_face'] == []
    # the crop is centred on the face: skin-coloured centre
    one = osp.join(dst, osp.relpath(osp.splitext(videos[0]['path'])[0], root),
                   '00001.jpg')
    centre = cv2.imread(one)[24:40, 24:40].reshape(-1, 3).mean(0)
    assert centre[2] > centre[0]  # red over blue, like skin
    # second run: nothing redone
    mtime = os.stat(one).st_mtime_ns
    capsys.readouterr()
    assert tool.main([root, dst, '--size', '64']) == 0
    assert '0 extracted, 7 already done' in capsys.readouterr().out
    assert os.stat(one).st_mtime_ns == mtime
    assert not any(
        n.endswith('.partial') for _, dirs, _ in os.walk(dst) for n in dirs)


def _blank_video(path: str, frames: int = 5) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 25,
                             (96, 64))
    for i in range(frames):
        writer.write(np.full((64, 96, 3), 40 + i, np.uint8))
    writer.release()


def test_no_face_and_broken_videos(tool, tmp_path, capsys) -> None:
    src = tmp_path / 'afew'
    blank = str(src / 'Val_AFEW' / 'Sad' / '000000001.avi')
    _blank_video(blank)
    broken = src / 'Val_AFEW' / 'Fear' / '000000002.avi'
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b'RIFF but not a video')
    dst = str(tmp_path / 'faces')
    assert tool.main([str(src), dst]) == 1
    out = capsys.readouterr().out
    assert f'no face found: {blank}' in out
    assert f'failed: {broken}' in out
    assert not osp.exists(osp.join(dst, 'Val_AFEW', 'Sad', '000000001'))
    report = json.loads(open(osp.join(dst, tool.REPORT_NAME)).read())
    assert report['no_face'] == ['Val_AFEW/Sad/000000001.avi']
    assert list(report['failed']) == ['Val_AFEW/Fear/000000002.avi']
    os.remove(broken)
    # no-face videos are remembered, and may be allowed
    assert tool.main([str(src), dst, '--allow-no-face']) == 0
    assert 'no face found' in capsys.readouterr().out


def test_crop_face_pads_at_the_border(tool) -> None:
    frame = np.zeros((50, 60, 3), np.uint8)
    frame[:, :30] = 200
    crop = tool.crop_face(frame, (0, 0, 20, 20), 0.5, 32)
    assert crop.shape == (32, 32, 3)
    boxes = tool.fill_and_smooth([None, (0, 0, 10, 10), None, (2, 2, 12, 12)],
                                 1)
    assert boxes == [(0, 0, 10, 10), (0, 0, 10, 10), (0, 0, 10, 10),
                     (2, 2, 12, 12)]
