# Copyright (c) OpenMMLab. All rights reserved.
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmstt.testing import make_afew_sample

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


def _rel(video, root):
    return osp.relpath(osp.splitext(video['path'])[0], root)


def test_help() -> None:
    out = subprocess.run([sys.executable, TOOL, '--help'],
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert out.returncode == 0
    for word in ('YuNet', 'Haar', '--detector', '--margin', 'faces.json',
                 '--lost-seconds', '--allow-truncated'):
        assert word in out.stdout


@pytest.mark.parametrize('detector', ['yunet', 'haar'])
def test_extracts_auditable_crops_and_resumes(tool, small_afew, tmp_path,
                                              capsys, detector) -> None:
    root, videos = small_afew
    dst = str(tmp_path / 'faces')
    assert tool.main([root, dst, '--size', '64', '--detector', detector]) == 0
    for video in videos:
        folder = osp.join(dst, _rel(video, root))
        names = sorted(n for n in os.listdir(folder) if n.endswith('.jpg'))
        assert len(names) == video['num_frames']
        assert names[0] == '00001.jpg'
        crop = cv2.imread(osp.join(folder, names[0]))
        assert crop.shape == (64, 64, 3)
        faces = json.load(open(osp.join(folder, 'faces.json')))
        assert faces['detector'] == detector
        assert faces['frame_size'] == [320, 240]
        assert faces['num_frames'] == video['num_frames']
        assert len(faces['boxes']) == video['num_frames']
        assert faces['filled'] == sorted(
            i for i, b in enumerate(faces['detected']) if b is None)
        # every box is on the drawn head (source pixels)
        for box, truth in zip(faces['boxes'], video['face_boxes']):
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            tx, ty = (truth[0] + truth[2]) / 2, (truth[1] + truth[3]) / 2
            head = truth[3] - truth[1]
            assert abs(cx - tx) < 0.25 * head and abs(cy - ty) < 0.3 * head
            assert 0.4 * head < box[2] - box[0] < 1.3 * head
    report = json.loads(open(osp.join(dst, tool.REPORT_NAME)).read())
    assert report['extracted'] == 7 and report['no_face'] == []
    assert report['detector'] == detector and report['truncated'] == {}
    # the crop is centred on the face: skin-coloured centre
    one = osp.join(dst, _rel(videos[0], root), '00001.jpg')
    centre = cv2.imread(one)[24:40, 24:40].reshape(-1, 3).mean(0)
    assert centre[2] > centre[0]  # red over blue, like skin
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
    assert '000000002.avi' in report['failed']['Val_AFEW/Fear/000000002.avi']
    os.remove(broken)
    # no-face videos are remembered, and may be allowed
    assert tool.main([str(src), dst, '--allow-no-face']) == 0
    assert 'no face found' in capsys.readouterr().out


def test_corrupt_report_is_named_and_rebuilt(tool, small_afew, tmp_path,
                                             capsys) -> None:
    root, videos = small_afew
    src = tmp_path / 'afew'
    one = src / osp.relpath(videos[0]['path'], root)
    one.parent.mkdir(parents=True)
    shutil.copy(videos[0]['path'], one)
    dst = tmp_path / 'faces'
    dst.mkdir()
    report = dst / tool.REPORT_NAME
    report.write_text('{"no_face": ["a.avi"], "fail')
    assert tool.main([str(src), str(dst), '--size', '32']) == 0
    err = capsys.readouterr().err
    assert str(report) in err and 'not a valid report' in err
    assert (
        dst /
        (tool.REPORT_NAME + '.corrupt')).read_text().startswith('{"no_face"')
    rebuilt = json.loads(report.read_text())
    assert rebuilt['extracted'] == 1 and rebuilt['no_face'] == []
    report.write_text('[1, 2]')  # valid JSON, not a report
    assert tool.main([str(src), str(dst)]) == 0
    assert 'not a valid report' in capsys.readouterr().err
    assert json.loads(report.read_text())['already_done'] == 1


def test_truncated_video_is_listed(tool, small_afew, tmp_path, capsys) -> None:
    root, videos = small_afew
    video = max(videos, key=lambda v: v['num_frames'])
    src = tmp_path / 'afew'
    cut = src / osp.relpath(video['path'], root)
    cut.parent.mkdir(parents=True)
    data = open(video['path'], 'rb').read()
    cut.write_bytes(data[:int(len(data) * 0.6)])
    dst = str(tmp_path / 'faces')
    assert tool.main([str(src), dst, '--size', '32']) == 1
    out = capsys.readouterr().out
    assert '1 truncated' in out and f'truncated: {cut}' in out
    rel = osp.relpath(str(cut), str(src))
    report = json.loads(open(osp.join(dst, tool.REPORT_NAME)).read())
    entry = report['truncated'][rel]
    assert entry['header'] == video['num_frames']
    assert 0 < entry['decoded'] < video['num_frames']
    folder = osp.join(dst, osp.splitext(rel)[0])
    jpgs = [n for n in os.listdir(folder) if n.endswith('.jpg')]
    assert len(jpgs) == entry['decoded']
    faces = json.load(open(osp.join(folder, 'faces.json')))
    assert faces['header_frames'] == video['num_frames']
    assert len(faces['boxes']) == entry['decoded']
    # the next run still lists it (from faces.json) and may allow it
    assert tool.main([str(src), dst, '--allow-truncated']) == 0
    assert f'truncated: {cut}' in capsys.readouterr().out


def test_face_lost_for_a_long_stretch_is_listed(tool, small_afew, tmp_path,
                                                capsys) -> None:
    root, videos = small_afew
    video = max(videos, key=lambda v: v['num_frames'])
    src = tmp_path / 'afew'
    path = src / osp.relpath(video['path'], root)
    path.parent.mkdir(parents=True)
    cap = cv2.VideoCapture(video['path'])
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    # hide the face in frames 3..8 (a hand over the face)
    for i in range(3, 9):
        x1, y1, x2, y2 = [int(v) for v in video['face_boxes'][i]]
        frames[i][max(0, y1 - 10):y2 + 10, max(0, x1 - 10):x2 + 10] = 128
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'MJPG'), 25,
        (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(frame)
    writer.release()
    dst = str(tmp_path / 'faces')
    assert tool.main([str(src), dst, '--lost-seconds', '0.2']) == 0
    out = capsys.readouterr().out
    assert f'face lost: {path}: frames 4-9' in out
    rel = osp.relpath(str(path), str(src))
    report = json.loads(open(osp.join(dst, tool.REPORT_NAME)).read())
    assert report['lost_face'][rel] == [[3, 9]]
    faces = json.load(open(osp.join(dst, osp.splitext(rel)[0], 'faces.json')))
    assert faces['filled'] == [3, 4, 5, 6, 7, 8]
    assert faces['longest_gap'] == 6
    # filled boxes come from the nearest detected frames (2 and 9)
    assert faces['detected'][3] is None and faces['boxes'][3] is not None


def test_lost_stretches(tool) -> None:
    runs = tool.lost_stretches([1, None, None, 1, None, None, None], 2)
    assert runs == [[1, 3], [4, 7]]
    assert tool.lost_stretches([None] * 3, 4) == []
