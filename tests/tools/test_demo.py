# Copyright (c) OpenMMLab. All rights reserved.
"""tools/demo.py on a clip, a frame folder and a whole video."""
import csv
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmstt.datasets import DFER_CLASSES
from mmstt.datasets.dfer_classes import MAFW_CLASSES
from mmstt.datasets.video_io import VideoReader, write_video

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tests'))
from apis.helpers import (  # noqa: E402 (tests/ is on the path now)
    face_video_frames, save_checkpoint, tiny_config)


@pytest.fixture(scope='module')
def demo(load_tool):
    return load_tool('demo.py')


def _model_files(root, num_classes, classes):
    """A tiny config file and a checkpoint with ``classes`` in its meta."""
    from mmstt.apis import init_recognizer
    cfg = tiny_config(num_classes=num_classes)
    config = str(root / f'tiny_{num_classes}.py')
    cfg.dump(config)
    model = init_recognizer(cfg)
    ckpt = save_checkpoint(model, str(root / f'tiny_{num_classes}.pth'),
                           classes)
    return config, ckpt


@pytest.fixture(scope='module')
def dfew_model(tmp_path_factory):
    return _model_files(tmp_path_factory.mktemp('demo7'), 7, DFER_CLASSES)


@pytest.fixture(scope='module')
def clip_folder(tmp_path_factory):
    from mmstt.testing import render_clip
    folder = tmp_path_factory.mktemp('clip') / '00001'
    folder.mkdir()
    for i, frame in enumerate(render_clip(0, 10, seed=3, size=48)):
        cv2.imwrite(
            str(folder / f'{i + 1}.jpg'), cv2.cvtColor(frame,
                                                       cv2.COLOR_RGB2BGR))
    return str(folder)


def _probabilities(out: str) -> dict:
    block = out.split('probabilities:\n', 1)[1]
    probs = {}
    for line in block.splitlines():
        match = re.fullmatch(r'\s+(\w+)\s+([0-9.]+)', line)
        if not match:
            break
        probs[match.group(1)] = float(match.group(2))
    return probs


def test_help():
    out = subprocess.run(
        [sys.executable,
         osp.join(REPO, 'tools', 'demo.py'), '--help'],
        capture_output=True,
        text=True,
        timeout=120)
    assert out.returncode == 0
    for word in ('--timeline', '--stride', '--window', '--detector', 'yunet',
                 '--label', 'H.264'):
        assert word in out.stdout


def test_frame_folder_with_true_label_and_picture(demo, dfew_model,
                                                  clip_folder, tmp_path,
                                                  capsys):
    config, ckpt = dfew_model
    out = str(tmp_path / 'pred.png')
    probs = demo.main(
        [clip_folder, config, ckpt, '--label', 'happy', '--out', out])
    printed = capsys.readouterr().out
    assert 'true label: happy' in printed
    assert f'input: {clip_folder} (10 frames)' in printed
    listed = _probabilities(printed)
    assert list(listed) == list(DFER_CLASSES)
    np.testing.assert_allclose(list(listed.values()), probs, atol=1e-6)
    assert probs.sum() == pytest.approx(1.0, abs=1e-6)
    image = cv2.imread(out)
    # a strip of frames above the probability bars: wider than high
    assert image is not None and image.shape[1] > image.shape[0] > 300
    # the label may be an index too; a wrong one is refused
    demo.main([clip_folder, config, ckpt, '--label', '4'])
    assert 'true label: surprise' in capsys.readouterr().out
    with pytest.raises(SystemExit, match='not one of'):
        demo.main([clip_folder, config, ckpt, '--label', 'joy'])


def test_mafw_checkpoint_prints_its_eleven_names(demo, clip_folder, tmp_path,
                                                 capsys):
    config, ckpt = _model_files(tmp_path, 11, MAFW_CLASSES)
    probs = demo.main(
        [clip_folder, config, ckpt, '--label', 'contempt', '--topk', '11'])
    printed = capsys.readouterr().out
    assert list(_probabilities(printed)) == list(MAFW_CLASSES)
    assert probs.shape == (11, )
    assert 'true label: contempt' in printed
    ranked = re.findall(r'^\s+(\d+)\. (\w+)\s+([0-9.]+)$', printed, re.M)
    assert sorted(name for _, name, _ in ranked) == sorted(MAFW_CLASSES)


def test_video_out_is_h264_with_every_frame(demo, dfew_model, tmp_path,
                                            capsys):
    config, ckpt = dfew_model
    frames = face_video_frames([0], 9, seed=1, size=(160, 120))
    video = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 10,
                             (160, 120))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    out = str(tmp_path / 'pred.mp4')
    demo.main([video, config, ckpt, '--detect-face', '--out', out])
    printed = capsys.readouterr().out
    assert re.search(r'face found in \d+/9 frames \(yunet', printed)
    reader = VideoReader(out)
    assert reader.codec_name == 'h264' and reader.num_frames == 9
    assert reader.fps == pytest.approx(10.0)
    assert reader.frame_size[1] == 300


def test_truncated_video_warns(demo, dfew_model, tmp_path, capsys):
    config, ckpt = dfew_model
    video = str(tmp_path / 'cut.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 10,
                             (48, 48))
    for i in range(30):
        writer.write(np.full((48, 48, 3), 5 * i, np.uint8))
    writer.release()
    data = open(video, 'rb').read()
    open(video, 'wb').write(data[:len(data) // 2])
    demo.main([video, config, ckpt])
    captured = capsys.readouterr()
    assert re.search(
        r'warning: .*cut.avi: read \d+ frames, but its header '
        r'says 30', captured.err)
    found = int(re.search(r'\((\d+) frames\)', captured.out).group(1))
    assert 0 < found < 30


def test_timeline_mode_writes_csv_png_and_h264(demo, dfew_model, tmp_path,
                                               capsys):
    config, ckpt = dfew_model
    frames = face_video_frames([0, 4, 1],
                               8,
                               seed=2,
                               size=(320, 240),
                               blank=[1])
    video = str(tmp_path / 'video.mp4')
    write_video(video, frames, 8.0)
    out_dir = tmp_path / 'timeline'
    probs = demo.main([
        video, config, ckpt, '--detect-face', '--timeline',
        str(out_dir), '--window', '1', '--stride', '0.5', '--no-progress'
    ])
    printed = capsys.readouterr().out
    with open(out_dir / 'timeline.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(probs) and len(rows) >= 5
    assert float(rows[-1]['end_s']) == pytest.approx(3.0)
    assert 'no' in {r['face'] for r in rows}
    assert '(no face)' in printed
    assert cv2.imread(str(out_dir / 'timeline.png')) is not None
    reader = VideoReader(str(out_dir / 'annotated.mp4'))
    assert reader.codec_name == 'h264' and reader.num_frames == 24
    with pytest.raises(SystemExit):
        demo.main([str(tmp_path), config, ckpt, '--timeline', 'x'])
