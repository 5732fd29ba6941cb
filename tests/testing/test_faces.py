# Copyright (c) OpenMMLab. All rights reserved.
import numpy as np
import pytest

from mmstt.datasets import MAFW_CLASSES
from mmstt.testing import (EXPRESSION_APEX, NEUTRAL_FACE, expression_params,
                           render_clip, render_frames, sample_identity,
                           sample_scene)


def test_render_clip_shape_and_determinism() -> None:
    frames = render_clip(4, 6, seed=3, size=48)
    assert len(frames) == 6
    for frame in frames:
        assert frame.shape == (48, 48, 3) and frame.dtype == np.uint8
    again = render_clip(4, 6, seed=3, size=48)
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))
    other = render_clip(4, 6, seed=4, size=48)
    assert not np.array_equal(frames[0], other[0])


def test_render_clip_covers_the_eleven_classes() -> None:
    assert len(EXPRESSION_APEX) == len(MAFW_CLASSES) == 11
    assert list(EXPRESSION_APEX) == list(MAFW_CLASSES)
    assert len(render_clip(10, 2, seed=0, size=32)) == 2
    with pytest.raises(ValueError, match='label must be in 0..10'):
        render_clip(11, 2, seed=0)
    with pytest.raises(ValueError, match='num_frames'):
        render_clip(0, 0, seed=0)


def test_expression_params_interpolate() -> None:
    assert expression_params('happy', 0.0) == NEUTRAL_FACE
    apex = expression_params('surprise', 1.0)
    for key, value in NEUTRAL_FACE.items():
        assert apex[key] == EXPRESSION_APEX['surprise'].get(key, value)
    half = expression_params('sad', 0.5)
    assert half['corner'] == pytest.approx(EXPRESSION_APEX['sad']['corner'] /
                                           2)
    assert expression_params('neutral', 1.0) == NEUTRAL_FACE


def _frames(label: int, ident: dict, scene: dict) -> list:
    rng = np.random.default_rng(0)
    return list(
        render_frames(label, len(scene['intensity']), rng, 64, ident, scene))


def test_classes_differ_only_by_the_expression() -> None:
    rng = np.random.default_rng(7)
    ident = sample_identity(rng)
    scene = sample_scene(rng, 24)
    scene['blinks'][:] = 1.0
    scene['intensity'] = np.linspace(0, 1, 24)
    clips = {label: _frames(label, ident, scene) for label in range(11)}
    for label in range(11):
        # Same identity and scene: the neutral start is the same picture
        # whatever the class ...
        np.testing.assert_array_equal(clips[label][0], clips[2][0])
    # ... and the apex differs between every two classes.
    for a in range(11):
        for b in range(a + 1, 11):
            diff = np.abs(clips[a][-1].astype(int) - clips[b][-1]).sum()
            assert diff > 0, (MAFW_CLASSES[a], MAFW_CLASSES[b])
    # The head still moves in a neutral clip.
    assert not np.array_equal(clips[2][0], clips[2][-1])


def test_scene_dynamics_neutral_onset_apex() -> None:
    offsets = 0
    for seed in range(40):
        scene = sample_scene(np.random.default_rng(seed), 100)
        curve = scene['intensity']
        assert curve[0] == 0.0  # neutral at the start
        assert 0.8 * 0.999 <= curve.max() <= 1.0  # an apex is reached
        rise = int(np.argmax(curve > 0))
        assert 5 <= rise <= 41  # onset within 5-40 % of the clip
        offsets += curve[-1] < 0.95 * curve.max()
        assert 45 <= scene['jpeg_quality'] <= 95
    # some clips return towards neutral, most stay at the apex
    assert 3 <= offsets <= 30


def _apex_mouth(name: str) -> tuple:
    """Height and width (px) of the mouth's opening (cavity or teeth) at
    the apex, and how many of its pixels are teeth, for one frontal,
    evenly lit face."""
    rng = np.random.default_rng(5)
    ident = sample_identity(rng)
    ident.update(style=(1., 1., 1.), glasses=0, moustache=False, beard=False)
    scene = sample_scene(rng, 2)
    scene.update(
        intensity=np.ones(2),
        blinks=np.ones(2),
        talk=np.zeros(2),
        yaw=0.,
        pitch=0.,
        roll=0.,
        sway=np.zeros(3),
        gain=1.,
        gain_drift=0.,
        light_slope=0.,
        cast=(1., 1., 1.),
        blur=0.,
        noise=0.,
        zoom=0.,
        shift=(0., 0.),
        drift=(0., 0.),
        scale=0.7)
    label = MAFW_CLASSES.index(name)
    frame = list(render_frames(label, 2, rng, 160, ident, scene))[-1]
    # Below the eyes (the whole head is in the frame at scale 0.7): the
    # cavity's colour (BGR) and the teeth's white.
    lower = frame[96:].astype(int)
    teeth = np.abs(lower - 225).max(axis=2) < 25
    opening = teeth | (np.abs(lower - (35, 25, 50)).max(axis=2) < 20)
    rows, cols = np.nonzero(opening)
    return (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1,
            int(teeth.sum()))


def test_fear_is_not_a_smaller_surprise() -> None:
    # Surprise drops the jaw: a tall, narrow opening without teeth. Fear
    # stretches the lips over both rows of teeth: wide and barely open.
    s_height, s_width, s_teeth = _apex_mouth('surprise')
    f_height, f_width, f_teeth = _apex_mouth('fear')
    assert s_height > 0.8 * s_width
    assert f_width > 1.25 * s_width
    assert f_height < 0.3 * s_height
    assert s_teeth == 0 and f_teeth > 20
