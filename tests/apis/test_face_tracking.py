# Copyright (c) OpenMMLab. All rights reserved.
"""One face followed through a clip: start, follow, gaps, cuts, crops."""
import cv2
import numpy as np
import pytest

from mmstt.apis import (FaceDetector, crop_face, detect_and_track, square_box,
                        track_face)
from mmstt.apis.face_tracking import frame_histogram, scene_cut_distance


def _det(*boxes):
    """Detections ``(N, 5)`` from ``(x1, y1, x2, y2)`` boxes."""
    return np.array([list(b) + [0.9] for b in boxes],
                    np.float64).reshape(-1, 5)


def test_starts_at_the_largest_then_follows_the_nearest():
    me = [(10 + 2 * i, 10, 50 + 2 * i, 50) for i in range(6)]
    big = (100, 0, 200, 100)  # a larger face walks in from frame 2
    dets = [_det(me[0], (150, 150, 170, 170)), _det(me[1])] + \
        [_det(big, me[i]) for i in range(2, 6)]
    track = track_face(dets, smooth=1)
    assert track.detected == [tuple(map(float, b)) for b in me]
    assert track.boxes == track.detected and track.filled == []
    assert track.faces_per_frame == [2, 1, 2, 2, 2, 2]


def test_gaps_filled_from_the_nearest_detected_frame():
    a, b = (0, 0, 10, 10), (1, 0, 11, 10)
    dets = [_det(), _det(a), _det(), _det(), _det(), _det(b), _det()]
    track = track_face(dets, smooth=1)
    assert track.filled == [0, 2, 3, 4, 6]
    # frame 3 is as near to frame 1 as to frame 5: the earlier one wins
    assert track.boxes == [a, a, a, a, b, b, b]
    assert track.num_detected == 2 and track.longest_gap() == 3
    assert track.to_json()['filled'] == [0, 2, 3, 4, 6]


def test_a_far_jump_is_not_followed_and_the_track_reacquires():
    a = (0, 0, 20, 20)
    far = (200, 200, 230, 230)
    dets = [_det(a)] + [_det(far)] * 5
    track = track_face(dets, smooth=1, reacquire_after=2)
    # frames 1, 2, 3 reject the far face; after 2 misses, frame 4 restarts
    assert track.detected[:4] == [a, None, None, None]
    assert track.detected[4] == far and track.detected[5] == far


def test_scene_cut_restarts_at_the_largest_face_and_does_not_fill_across():
    small, large = (0, 0, 20, 20), (100, 100, 160, 160)
    dets = [_det(small)] * 3 + [_det((2, 2, 22, 22), large)] * 3
    followed = track_face(dets, smooth=1)
    assert followed.detected[3] == (2, 2, 22, 22)
    cut = track_face(dets, cuts=[3], smooth=1)
    assert cut.shots == [0, 3]
    assert cut.detected[3:] == [large] * 3
    # a shot without any face gets no box, unless asked to fill
    dets = [_det(small)] * 3 + [_det()] * 2
    alone = track_face(dets, cuts=[3], smooth=1)
    assert alone.boxes[3:] == [None, None] and 3 not in alone.filled
    filled = track_face(dets, cuts=[3], smooth=1, fill_across_cuts=True)
    assert filled.boxes[3:] == [small, small] and filled.filled == [3, 4]


def test_median_smoothing_removes_a_one_frame_outlier():
    boxes = [(10, 10, 30, 30)] * 2 + [(14, 10, 34, 30)
                                      ] + [(10, 10, 30, 30)] * 2
    track = track_face([_det(b) for b in boxes], smooth=5)
    assert track.boxes == [(10.0, 10.0, 30.0, 30.0)] * 5
    assert track.detected[2] == (14, 10, 34, 30)


def test_square_box_and_crop_with_margin_and_border():
    # longer side 40, plus 25 % on each side: 60, centred on (20, 40)
    assert square_box((10, 20, 30, 60), 0.25) == (-10.0, 10.0, 50.0, 70.0)
    frame = np.zeros((50, 60, 3), np.uint8)
    frame[:, :15] = 200
    crop = crop_face(frame, (0, 0, 20, 20), 0.5, 32)
    assert crop.shape == (32, 32, 3)
    # the square (-10, -10, 30, 30) leaves the frame: border replicated
    assert crop[0, 0, 0] == 200 and crop[-1, -1, 0] == 0
    exact = np.arange(40 * 40 * 3, dtype=np.uint32).reshape(40, 40, 3)
    exact = (exact % 251).astype(np.uint8)
    np.testing.assert_array_equal(
        crop_face(exact, (10, 10, 20, 20), 0.0, 10), exact[10:20, 10:20])


def test_histogram_distance():
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 200
    blue = np.zeros((32, 32, 3), np.uint8)
    blue[..., 2] = 200
    h_red, h_blue = frame_histogram(red), frame_histogram(blue)
    assert h_red.sum() == pytest.approx(1.0)
    assert scene_cut_distance(h_red, h_red) == pytest.approx(0.0, abs=1e-6)
    assert scene_cut_distance(h_red, h_blue) > 0.9


class _Scripted(FaceDetector):
    """A detector that returns the boxes of a script, frame by frame."""

    name = 'scripted'

    def __init__(self, script):
        super().__init__(detect_side=0)
        self.script = list(script)

    def _detect(self, bgr):
        return self.script.pop(0)


def test_detect_and_track_finds_the_cut_between_two_scenes():
    frames = []
    for colour in ((200, 40, 40), (40, 40, 200)):
        for i in range(4):
            img = np.zeros((60, 80, 3), np.uint8)
            img[:] = colour
            img[10 + i:20 + i, 10:20] = 255  # small motion within a shot
            frames.append(img)
    small, large = (0, 0, 20, 20), (40, 30, 80, 60)
    script = [_det(small)] * 4 + [_det((1, 0, 21, 20), large)] * 4
    track = detect_and_track(iter(frames), _Scripted(script), smooth=1)
    assert track.shots == [0, 4]
    assert track.detected[4:] == [large] * 4
    assert track.frame_size == (80, 60) and track.detector == 'scripted'
    record = track.to_json()
    assert len(record['boxes']) == 8 and record['frame_size'] == [80, 60]
    with pytest.raises(ValueError, match='no frames'):
        detect_and_track(iter([]), _Scripted([]))


def test_follows_a_real_moving_face_past_a_larger_passer_by(load_tool):
    photos = load_tool('data/afew/compare_face_detectors.py')
    from mmstt.apis import YuNetDetector
    face = photos.load_photo('grace_hopper')[90:360, 150:390]
    me = cv2.resize(face, (80, 90))
    other = cv2.resize(face, (130, 146))
    frames = []
    for i in range(6):
        img = np.full((200, 360, 3), 100, np.uint8)
        img[20:110, 10 + 8 * i:90 + 8 * i] = me
        if i >= 2:
            img[40:186, 200:330] = other
        frames.append(img)
    track = detect_and_track(iter(frames), YuNetDetector(), smooth=1)
    assert track.num_detected == 6 and track.faces_per_frame[3] == 2
    centres = [(b[0] + b[2]) / 2 for b in track.detected]
    assert all(c < 180 for c in centres)
    assert centres == sorted(centres)
