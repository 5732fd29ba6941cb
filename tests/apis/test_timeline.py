# Copyright (c) OpenMMLab. All rights reserved.
"""The expression timeline over a generated whole-frame video."""
import csv

import cv2
import numpy as np
import pytest
import torch

from mmstt.apis import (YuNetDetector, crop_face, detect_and_track,
                        init_recognizer, video_timeline, write_timeline)
from mmstt.apis.timeline import timeline_windows
from mmstt.datasets.video_io import VideoReader, write_video
from .helpers import face_video_frames, tiny_config

FPS = 8.0
SEG = 12  # frames per segment
LABELS = (0, 4, 1, 2)  # happy, surprise, sad (blank), neutral
BLANK = (2, )


@pytest.fixture(scope='module')
def face_video(tmp_path_factory):
    """An H.264 video of 4 scenes; the third shows no face."""
    frames = face_video_frames(
        LABELS, SEG, seed=2, size=(320, 240), blank=BLANK)
    path = str(tmp_path_factory.mktemp('timeline') / 'video.mp4')
    write_video(path, frames, FPS)
    return path, frames


@pytest.fixture(scope='module')
def timeline(face_video):
    model = init_recognizer(tiny_config())
    return video_timeline(
        model, face_video[0], window_s=1.0, stride_s=0.5, progress=False)


def test_windows_cover_the_video():
    assert timeline_windows(10, 4, 2) == [(0, 4), (2, 6), (4, 8), (6, 10)]
    assert timeline_windows(11, 4, 3) == [(0, 4), (3, 7), (6, 10), (7, 11)]
    assert timeline_windows(3, 8, 4) == [(0, 3)]
    with pytest.raises(ValueError):
        timeline_windows(10, 0, 1)


def test_timeline_rows_cover_the_video_and_sum_to_one(timeline, face_video):
    num = len(face_video[1])
    assert timeline.num_frames == num and timeline.fps == pytest.approx(FPS)
    starts = [s for s, _ in timeline.windows]
    ends = [e for _, e in timeline.windows]
    assert starts[0] == 0 and ends[-1] == num
    assert all(e - s == round(FPS) for s, e in timeline.windows)
    assert np.diff(starts).max() <= round(FPS / 2)
    assert timeline.class_names[0] == 'happy'
    for ok, probs in zip(timeline.face, timeline.probs):
        if ok:
            assert probs.sum() == pytest.approx(1.0, abs=1e-5)
            assert (probs >= 0).all()
        else:
            assert np.isnan(probs).all()


def test_windows_without_a_face_are_marked_not_guessed(timeline):
    blank = range(BLANK[0] * SEG, (BLANK[0] + 1) * SEG)
    inside = [
        k for k, (s, e) in enumerate(timeline.windows)
        if s >= blank[0] and e <= blank[-1] + 1
    ]
    assert inside, 'no window lies inside the blank segment'
    for k in inside:
        assert not timeline.face[k] and timeline.face_frames[k] == 0
        assert timeline.boxes[k] is None
    # the first scene's face is found, and its box is on the drawn face
    assert timeline.face[0] and timeline.face_frames[0] > 0
    assert timeline.track.shots == [0, SEG, 2 * SEG, 3 * SEG]


def test_written_files(timeline, face_video, tmp_path):
    files = write_timeline(timeline, str(tmp_path / 'out'), progress=False)
    with open(files['csv'], newline='') as f:
        rows = list(csv.DictReader(f))
    names = timeline.class_names
    assert list(rows[0])[:12] == [
        'start_s', 'end_s', 'start_frame', 'end_frame', 'face', 'face_frames',
        'x1', 'y1', 'x2', 'y2', 'top_class', 'top_prob'
    ]
    assert list(rows[0])[12:] == names
    assert len(rows) == len(timeline.windows)
    assert float(rows[0]['start_s']) == 0.0
    assert float(rows[-1]['end_s']) == pytest.approx(len(face_video[1]) / FPS)
    for row, ok in zip(rows, timeline.face):
        assert row['face'] == ('yes' if ok else 'no')
        if ok:
            probs = [float(row[n]) for n in names]
            assert sum(probs) == pytest.approx(1.0, abs=1e-4)
            assert row['top_class'] == names[int(np.argmax(probs))]
            assert float(row['x2']) > float(row['x1'])
        else:
            assert row['top_class'] == '' and row[names[0]] == ''
            assert row['x1'] == ''
    image = cv2.imread(files['png'])
    assert image is not None and image.shape[1] >= 600
    reader = VideoReader(files['video'])
    assert reader.codec_name == 'h264'
    assert reader.num_frames == len(face_video[1])
    assert reader.frame_size == (320, 240)
    assert reader.fps == pytest.approx(FPS)
    # frames of the blank scene say so; the first frame carries a box
    first, blank = reader.read([0, BLANK[0] * SEG + SEG // 2])
    source = face_video[1][0].astype(int)
    assert np.abs(first.astype(int) - source).max() > 100  # drawn on
    labels = timeline.frame_labels()
    assert len(labels) == len(face_video[1]) and labels[0] is not None
    assert labels[0][0] in timeline.class_names
    blank_frames = range(BLANK[0] * SEG, (BLANK[0] + 1) * SEG)
    assert all(labels[i] is None for i in blank_frames)


def test_timeline_without_face_detection_uses_whole_frames(face_video):
    model = init_recognizer(tiny_config())
    out = video_timeline(
        model,
        face_video[0],
        detector=None,
        window_s=2.0,
        stride_s=1.0,
        progress=False)
    assert all(out.face) and out.track is None
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match='stride_s'):
        video_timeline(model, face_video[0], stride_s=0)


def _face_crops(frames, detector, size):
    """The tracked face crops of a one-shot clip, None without a face."""
    track = detect_and_track(iter(frames), detector, cut_threshold=1.0)
    if track.num_detected == 0:
        return None
    return np.stack(
        [crop_face(f, b, 0.2, size) for f, b in zip(frames, track.boxes)])


@pytest.mark.slow
def test_top_class_of_a_trained_model_follows_the_segments(tmp_path):
    """Train a tiny STT on tracked face crops, then read a joined video.

    The training clips and the video are drawn by the same generator as
    the embedded sample set (``mmstt.testing.render_clip``) in whole
    frames, with other identities and scenes in the video than in
    training; the crops come from the same detector and tracker that the
    timeline uses. Two expressions that differ plainly (happy, surprise)
    keep the training under a minute on one CPU thread.
    """
    torch.manual_seed(0)
    torch.set_num_threads(1)
    classes, size, frames = (0, 4), 32, 8
    detector = YuNetDetector()
    clips, labels = [], []
    for k in range(140):
        for label in classes:
            crops = _face_crops(
                face_video_frames([label], frames, seed=1000 + 2 * k + label),
                detector, size)
            if crops is not None:
                clips.append(crops)
                labels.append(label)
    model = init_recognizer(tiny_config(clip_len=frames, size=size))
    pre = model.data_preprocessor
    x = torch.from_numpy(np.stack(clips)).float().permute(0, 4, 1, 2, 3)
    x = ((x - pre.mean.view(1, 3, 1, 1, 1)) /
         pre.std.view(1, 3, 1, 1, 1))[:, None]
    y = torch.tensor(labels)
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    model.train()
    for _ in range(240):
        idx = torch.randint(0, len(x), (16, ))
        logits = model.cls_head(model.extract_feat(x[idx])[0])
        loss = torch.nn.functional.cross_entropy(logits, y[idx])
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()

    segments = (0, 4, 0, 4)
    seg = 16
    video = str(tmp_path / 'joined.mp4')
    write_video(video, face_video_frames(segments, seg, seed=77), FPS)
    timeline = video_timeline(
        model,
        video,
        detector=detector,
        window_s=1.0,
        stride_s=0.5,
        progress=False)
    right = total = 0
    for k, (start, end) in enumerate(timeline.windows):
        if start // seg != (end - 1) // seg or not timeline.face[k]:
            continue  # windows across a cut, or without a face
        truth = segments[start // seg]
        total += 1
        right += int(np.argmax(timeline.probs[k]) == truth)
    assert total >= 8
    assert right / total >= 0.75, (right, total, timeline.top_class(),
                                   timeline.face)
