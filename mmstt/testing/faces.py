# Copyright (c) OpenMMLab. All rights reserved.
"""Drawn face videos for the generated DFER look-alikes.

A clip shows one identity (face shape, skin, hair, eyes, accessories) in
one scene (background, lighting, head pose and its drift, scale,
translation, blur, noise) whose expression develops over the clip:
neutral, onset, apex and, in some clips, an offset back towards neutral.
Identity and scene are drawn from the clip's own random stream,
independently of the class, so the classes differ only by the facial
configuration and its motion (brows, lids, nose, lips, jaw and, for a few
MAFW classes, a head movement). Every clip also blinks and some talk a
little, whatever their class.

The face is drawn in face coordinates (unit: head height, origin at the
head centre, ``z`` towards the camera), rotated by yaw, pitch and roll,
then projected onto the frame with OpenCV polygons.
"""
from typing import Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np

from mmstt.datasets.dfer_classes import MAFW_CLASSES

__all__ = [
    'EXPRESSION_APEX', 'NEUTRAL_FACE', 'expression_params', 'sample_identity',
    'sample_scene', 'render_frames', 'render_clip'
]

#: Face parameters of the neutral face. ``brow_up``: both brows raised
#: (negative: lowered); ``brow_in``: inner brow ends raised (negative:
#: lowered and drawn together); ``eye_open``: lid opening (1 = neutral);
#: ``nose``: nose wrinkles; ``corner``: lip corners up (negative: down);
#: ``asym``: the right lip corner alone raised; ``jaw``: mouth opening;
#: ``stretch``: mouth widening (negative: narrower); ``upper_lip``: upper
#: lip raised; ``press``: lips pressed thin; ``pitch``: head lowered.
NEUTRAL_FACE: Dict[str, float] = dict(
    brow_up=0.,
    brow_in=0.,
    eye_open=1.,
    nose=0.,
    corner=0.,
    asym=0.,
    jaw=0.,
    stretch=0.,
    upper_lip=0.,
    press=0.,
    pitch=0.)

#: Parameters that differ from neutral at the apex, per class of
#: :data:`~mmstt.datasets.MAFW_CLASSES` (DFEW's seven first).
EXPRESSION_APEX: Dict[str, Dict[str, float]] = {
    'happy':
    dict(corner=1., stretch=0.35, jaw=0.3, eye_open=0.7),
    'sad':
    dict(brow_in=1., corner=-0.9, eye_open=0.7, stretch=-0.1),
    'neutral':
    dict(),
    'angry':
    dict(brow_in=-1., brow_up=-0.6, eye_open=0.6, press=1., stretch=-0.2),
    'surprise':
    dict(brow_up=1., eye_open=1.6, jaw=1., stretch=-0.35),
    'disgust':
    dict(
        nose=1.,
        upper_lip=1.,
        brow_up=-0.5,
        eye_open=0.55,
        corner=-0.4,
        asym=-0.3),
    'fear':
    dict(
        brow_up=0.5,
        brow_in=1.,
        eye_open=1.45,
        stretch=0.85,
        jaw=0.2,
        corner=-0.6),
    'contempt':
    dict(asym=1., eye_open=0.85, brow_up=-0.15),
    'anxiety':
    dict(brow_in=0.6, brow_up=0.3, press=0.8, eye_open=1.2),
    'helplessness':
    dict(
        brow_in=0.9,
        brow_up=0.5,
        corner=-0.5,
        jaw=0.25,
        eye_open=0.75,
        pitch=-0.5),
    'disappointment':
    dict(corner=-0.7, press=0.6, eye_open=0.8, brow_in=0.3, pitch=1.),
}

# Skin tones (BGR) from light to dark, hair colours, iris colours.
_SKIN = np.array([[196., 214., 245.], [150., 180., 225.], [110., 150., 200.],
                  [75., 105., 160.], [50., 70., 110.]])
_HAIR = np.array([[25., 25., 30.], [30., 45., 70.], [50., 90., 140.],
                  [110., 160., 200.], [160., 160., 165.], [40., 40., 120.]])
_IRIS = np.array([[40., 55., 80.], [120., 90., 40.], [70., 120., 70.],
                  [30., 30., 30.]])


def expression_params(name: str, intensity: float) -> Dict[str, float]:
    """Face parameters of expression ``name`` at ``intensity``.

    Args:
        name (str): A class of :data:`~mmstt.datasets.MAFW_CLASSES`.
        intensity (float): 0 (neutral) .. 1 (apex).

    Returns:
        dict: Parameters for :func:`render_frames`, linearly interpolated
        between :data:`NEUTRAL_FACE` and the class's apex.
    """
    apex = EXPRESSION_APEX[name]
    return {
        k: v + intensity * (apex.get(k, v) - v)
        for k, v in NEUTRAL_FACE.items()
    }


def _mix(palette: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random colour between two neighbours of ``palette``."""
    i = int(rng.integers(len(palette) - 1))
    return palette[i] + rng.uniform() * (palette[i + 1] - palette[i])


def _muted(rng: np.random.Generator, grey: float) -> tuple:
    """A scene colour near ``grey``: an indoor wall, not a colour cue."""
    return tuple(grey + rng.uniform(-35, 35) + rng.uniform(-18, 18, 3))


def sample_identity(rng: np.random.Generator) -> dict:
    """Draw an identity: face shape, skin, hair, eyes and accessories.

    Args:
        rng (np.random.Generator): The clip's random stream.

    Returns:
        dict: The identity (plain floats, ints and colour tuples).
    """
    return dict(
        face_w=rng.uniform(0.68, 0.84),
        chin=rng.uniform(0., 1.),
        skin=tuple(_mix(_SKIN, rng) + rng.uniform(-10, 10, 3)),
        hair=tuple(_mix(_HAIR, rng) + rng.uniform(-8, 8, 3)),
        hair_style=int(rng.integers(4)),
        iris=tuple(_IRIS[int(rng.integers(len(_IRIS)))]),
        eye_gap=rng.uniform(0.16, 0.19),
        eye_size=rng.uniform(0.9, 1.15),
        eye_y=rng.uniform(-0.1, -0.04),
        brow_w=rng.uniform(0.07, 0.09),
        nose_len=rng.uniform(0.12, 0.18),
        mouth_w=rng.uniform(0.9, 1.1),
        mouth_y=rng.uniform(0.23, 0.28),
        lips=tuple(rng.uniform([60, 60, 120], [110, 110, 190])),
        glasses=int(rng.uniform() < 0.25) * int(rng.integers(1, 3)),
        frame_colour=tuple(rng.uniform(10, 120, 3)),
        moustache=bool(rng.uniform() < 0.15),
        beard=bool(rng.uniform() < 0.12),
        earrings=bool(rng.uniform() < 0.15),
        style=tuple(rng.uniform(0.85, 1.15, 3)),
    )


def sample_scene(rng: np.random.Generator, num_frames: int) -> dict:
    """Draw a scene and the expression's time course for one clip.

    Args:
        rng (np.random.Generator): The clip's random stream.
        num_frames (int): Frames of the clip.

    Returns:
        dict: Background colours, lighting, pose, framing, image quality
        and the intensity per frame (``intensity``, a float array).
    """
    t = np.linspace(0., 1., num_frames)
    onset = rng.uniform(0.05, 0.4)
    apex = onset + rng.uniform(0.1, 0.3)
    ramp = np.clip((t - onset) / (apex - onset), 0., 1.)
    intensity = ramp * ramp * (3 - 2 * ramp)
    if rng.uniform() < 0.35:  # offset: back towards neutral
        start = rng.uniform(apex + 0.15, max(apex + 0.2, 0.9))
        fall = np.clip((t - start) / max(1e-3, 1 - start), 0., 1.)
        intensity = intensity * (1 - rng.uniform(0.5, 0.8) * fall)
    intensity = intensity * rng.uniform(0.8, 1.0)
    blinks = np.ones(num_frames)
    for _ in range(int(rng.integers(0, 4))):
        at = int(rng.integers(num_frames))
        blinks[max(0, at - 1):at +
               2] = (0.5, 0.1, 0.5)[:len(blinks[max(0, at - 1):at + 2])]
    talk = rng.uniform() < 0.3
    grey = rng.uniform(60, 190)
    return dict(
        intensity=intensity,
        blinks=blinks,
        talk=(0.12 *
              np.abs(np.sin(t * rng.uniform(8, 20) + rng.uniform(0, 6)))
              if talk else np.zeros(num_frames)),
        back=(_muted(rng, grey), _muted(rng, grey)),
        props=[(tuple(rng.uniform(0, 1, 4)), _muted(rng, grey))
               for _ in range(int(rng.integers(0, 4)))],
        gain=rng.uniform(0.8, 1.15),
        gain_drift=rng.uniform(-0.15, 0.15),
        light_dir=rng.uniform(0, 2 * np.pi),
        light_slope=rng.uniform(0., 0.3),
        cast=tuple(rng.uniform(0.93, 1.07, 3)),
        yaw=rng.uniform(-0.35, 0.35),
        pitch=rng.uniform(-0.15, 0.15),
        roll=rng.uniform(-0.12, 0.12),
        sway=rng.uniform(0., 0.06, 3),
        phase=rng.uniform(0, 2 * np.pi, 5),
        scale=rng.uniform(0.95, 1.1),
        zoom=rng.uniform(-0.06, 0.06),
        shift=tuple(rng.uniform(-0.05, 0.05, 2)),
        drift=tuple(rng.uniform(-0.02, 0.02, 2)),
        blur=rng.uniform(0., 1.0),
        noise=rng.uniform(0., 6.),
        jpeg_quality=int(rng.integers(45, 96)),
        noise_seed=int(rng.integers(2**31)),
    )


_ARCS: Dict[Tuple[float, float, int], Tuple[np.ndarray, np.ndarray]] = {}


def _ellipse(cx: float,
             cy: float,
             ax: float,
             ay: float,
             z: float,
             start: float = 0.,
             end: float = 2 * np.pi,
             n: int = 20) -> np.ndarray:
    """Points of an elliptic arc in face coordinates, shape ``(n, 3)``."""
    key = (start, end, n)
    if key not in _ARCS:
        a = np.linspace(start, end, n)
        _ARCS[key] = (np.cos(a), np.sin(a))
    cos, sin = _ARCS[key]
    pts = np.empty((n, 3))
    pts[:, 0] = cx + ax * cos
    pts[:, 1] = cy + ay * sin
    pts[:, 2] = z
    return pts


def _background(size: int, scene: dict) -> np.ndarray:
    """The scene behind the head: a gradient and a few blurred shapes."""
    top, bottom = (np.array(c, np.float32) for c in scene['back'])
    t = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    img = np.repeat(top * (1 - t) + bottom * t, size, axis=1)
    img = np.ascontiguousarray(img).astype(np.uint8)
    for (x, y, w, h), colour in scene['props']:
        p1 = (int(x * size), int(y * size))
        p2 = (int((x + 0.2 + 0.5 * w) * size), int((y + 0.2 + 0.5 * h) * size))
        cv2.rectangle(img, p1, p2, colour, -1)
    return cv2.GaussianBlur(img, (0, 0), 2.0)


class _Camera:
    """Projects face points (unit: head height) onto the frame."""

    def __init__(self, yaw: float, pitch: float, roll: float, scale: float,
                 centre: Tuple[float, float], face_w: float) -> None:
        cy, sy = np.cos(yaw), np.sin(yaw)
        cp, sp = np.cos(pitch), np.sin(pitch)
        cr, sr = np.cos(roll), np.sin(roll)
        # x widened by the face width, then yaw (about y), pitch (about x)
        # and roll (in the image plane).
        rot_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rot_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
        rot_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
        widen = np.diag([face_w / 0.76, 1., 1.])
        self.matrix = (rot_roll @ rot_pitch @ rot_yaw @ widen)[:2] * scale
        self.centre = np.array(centre)
        self.scale = scale

    def draw(self, img: np.ndarray, ops: List[tuple]) -> None:
        """Draw ``(kind, points, colour, width)`` shapes in order.

        ``kind`` is ``'fill'`` (filled polygon), ``'line'`` (open
        polyline) or ``'loop'`` (closed polyline); ``points`` are ``(N, 3)``
        face points, all projected with one matrix product.
        """
        pts = np.concatenate([op[1] for op in ops])
        xy = np.rint(pts @ self.matrix.T + self.centre).astype(np.int32)
        aa = cv2.LINE_AA
        at = 0
        for kind, shape, colour, width in ops:
            poly = xy[at:at + len(shape)]
            at += len(shape)
            if kind == 'fill':
                cv2.fillPoly(img, [poly], colour, aa)
            else:
                cv2.polylines(img, [poly], kind == 'loop', colour,
                              max(1, int(round(width * self.scale))), aa)


def _skin_tones(skin: tuple) -> Tuple[tuple, tuple]:
    """The skin's shadow (ears, neck, nose, folds) and crease colours."""
    return tuple(0.72 * c for c in skin), tuple(0.45 * c for c in skin)


class _Shapes(list):
    """Shapes ``(kind, points, colour, width)`` in drawing order, as
    :meth:`_Camera.draw` takes them."""

    def fill(self, pts: np.ndarray, colour: tuple) -> None:
        self.append(('fill', pts, colour, 0.))

    def line(self, pts: np.ndarray, colour: tuple, width: float) -> None:
        self.append(('line', pts, colour, width))

    def loop(self, pts: np.ndarray, colour: tuple, width: float) -> None:
        self.append(('loop', pts, colour, width))


def _head_shapes(ident: dict) -> Tuple[_Shapes, _Shapes]:
    """The shapes of ``ident`` that do not move with the expression.

    Returns:
        tuple: The head drawn behind the features (hair, neck, ears, face,
        beard, earrings) and the glasses and nose drawn over the eyes.
    """
    back, front = _Shapes(), _Shapes()
    skin, hair = ident['skin'], ident['hair']
    shade, _ = _skin_tones(skin)
    style = ident['hair_style']
    if style == 1:  # long hair behind the head
        back.fill(_ellipse(0, 0.08, 0.5, 0.6, -0.2), hair)
    back.fill(
        np.array([[-0.12, 0.3, -0.1], [0.12, 0.3, -0.1], [0.16, 0.8, -0.1],
                  [-0.16, 0.8, -0.1]]), shade)
    # head outline: an ellipse whose lower half narrows to the chin
    a = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    x, y = 0.38 * np.cos(a), 0.5 * np.sin(a)
    lower = y > 0
    x[lower] *= 1 - ident['chin'] * 0.35 * (y[lower] / 0.5)**2
    head = np.stack([x, y, np.zeros_like(x)], 1)
    for side in (-1, 1):  # ears
        back.fill(_ellipse(0.37 * side, -0.02, 0.05, 0.09, -0.05, n=12), shade)
    back.fill(head, skin)
    if ident['beard']:
        back.fill(
            np.concatenate([
                head[lower & (y > 0.2)], [[0.2, 0.32, 0.1], [-0.2, 0.32, 0.1]]
            ]), hair)
    if style != 2:  # hair on top (style 2: bald)
        depth = 0.16 if style != 3 else 0.24
        back.fill(
            _ellipse(0, -0.36, 0.39, depth, 0.05, np.pi, 2 * np.pi), hair)
    if ident['earrings']:
        for side in (-1, 1):
            back.fill(
                _ellipse(0.37 * side, 0.08, 0.025, 0.025, 0., n=8),
                (40, 200, 230))

    gap, ey = ident['eye_gap'], ident['eye_y']
    if ident['glasses']:
        colour = ident['frame_colour']
        for side in (-1, 1):
            if ident['glasses'] == 1:
                rim = _ellipse(gap * side, ey, 0.1, 0.07, 0.3, n=20)
            else:
                rim = np.array([[gap * side - 0.1, ey - 0.065, 0.3],
                                [gap * side + 0.1, ey - 0.065, 0.3],
                                [gap * side + 0.1, ey + 0.06, 0.3],
                                [gap * side - 0.1, ey + 0.06, 0.3]])
            front.loop(rim, colour, 0.014)
        front.line(
            np.array([[-gap + 0.1, ey - 0.02, 0.32],
                      [gap - 0.1, ey - 0.02, 0.32]]), colour, 0.014)
    nl = ident['nose_len']
    front.line(
        np.array([[0.0, ey + 0.02, 0.35], [-0.025, ey + 0.02 + nl, 0.45],
                  [0.02, ey + 0.04 + nl, 0.42]]), shade, 0.016)
    return back, front


def _eye_shapes(ident: dict, p: dict, blink: float) -> _Shapes:
    """Eyes, brows and the lines between lowered brows or beside a smile."""
    shapes = _Shapes()
    hair = ident['hair']
    shade, dark = _skin_tones(ident['skin'])
    # eyes: almond shaped opening, iris, lids
    open_ = max(0.05, p['eye_open'] * blink) * ident['eye_size']
    gap, ey = ident['eye_gap'], ident['eye_y']
    up, inner = p['brow_up'], p['brow_in']
    by = ey - 0.11 - 0.11 * up
    hw = 0.095 * ident['eye_size']
    r = min(0.032, 0.03 * open_ + 0.005)
    for side in (-1, 1):
        ex = gap * side
        upper = _ellipse(ex, ey, hw, 0.06 * open_, 0.25, np.pi, 2 * np.pi, 12)
        lower_lid = _ellipse(ex, ey, hw, 0.03 * min(open_, 1.2), 0.25, 0,
                             np.pi, 12)
        shapes.fill(np.concatenate([upper, lower_lid]), (235, 235, 235))
        shapes.fill(
            _ellipse(ex, ey + 0.003, 0.032, r, 0.26, n=14), ident['iris'])
        shapes.fill(
            _ellipse(ex, ey + 0.003, 0.013, min(r, 0.013), 0.27, n=8),
            (15, 15, 15))
        shapes.line(upper, dark, 0.014)
        # brows: inner end, middle, outer end
        brow = np.array(
            [[0.055 * side - 0.015 * inner * side, by - 0.11 * inner, 0.28],
             [0.13 * side, by - 0.02 - 0.01 * inner, 0.28],
             [0.24 * side, by + 0.012 + 0.02 * inner, 0.27]])
        shapes.line(brow, hair, ident['brow_w'])
    if inner < -0.3:
        for side in (-1, 1):
            shapes.line(
                np.array([[0.03 * side, ey - 0.2, 0.3],
                          [0.02 * side, ey - 0.12, 0.32]]), dark, 0.016)
    fold = max(p['corner'], 0.) + 0.6 * p['upper_lip']
    if fold > 0.3:
        for side in (-1, 1):
            shapes.line(
                np.array([[0.09 * side, ey + 0.12, 0.33],
                          [0.15 * side, ey + 0.2, 0.31],
                          [0.17 * side, ey + 0.29, 0.3]]), shade,
                0.018 * min(1., fold))
    return shapes


def _mouth_shapes(ident: dict, p: dict) -> _Shapes:
    """Nose wrinkles, then the lips between their corners."""
    shapes = _Shapes()
    _, dark = _skin_tones(ident['skin'])
    ey = ident['eye_y']
    for k in range(3):
        if p['nose'] * 3 > k + 0.4:
            wy = ey + 0.0 + 0.028 * k
            shapes.line(
                np.array([[-0.06, wy + 0.01, 0.33], [0, wy, 0.36],
                          [0.06, wy + 0.01, 0.33]]), dark, 0.016)
    # mouth: upper and lower lip curves between the corners
    my = ident['mouth_y'] - 0.04 * p['upper_lip']
    half = 0.16 * ident['mouth_w'] * (1 + 0.5 * p['stretch'])
    xs = np.linspace(-half, half, 15)
    u = xs / half
    corner_y = -0.1 * p['corner'] - 0.05 * p['asym'] * (u > 0) * u
    upper = my + corner_y * u * u - 0.012 * (1 - u * u)
    upper = upper - 0.035 * p['upper_lip'] * (1 - u * u)
    opening = 0.24 * (p['jaw'] + p['talk']) + 0.03 * p['upper_lip']
    lower = (
        ident['mouth_y'] + corner_y * u * u + (opening + 0.012) * (1 - u**4))
    zs = np.full_like(xs, 0.3)
    up_pts = np.stack([xs, upper, zs], 1)
    low_pts = np.stack([xs, lower, zs], 1)
    lips = ident['lips']
    width = 0.036 * (1 - 0.6 * p['press'])
    if opening > 0.015:
        cavity = np.concatenate([up_pts, low_pts[::-1]])
        shapes.fill(cavity, (35, 25, 50))
        # teeth: the upper row in a smile, a sneer or a fearful grimace
        # (lips stretched), the lower row too in the grimace
        if p['corner'] > 0.3 or p['upper_lip'] > 0.3 or p['stretch'] > 0.5:
            teeth = np.stack([xs * 0.8, upper + 0.02, zs], 1)
            shapes.line(teeth, (225, 225, 225), 0.025)
        if p['stretch'] > 0.5:
            teeth = np.stack([xs * 0.8, lower - 0.015, zs], 1)
            shapes.line(teeth, (225, 225, 225), 0.02)
        shapes.loop(cavity, lips, width)
    else:
        shapes.line(up_pts, lips, width + 0.01)
    if ident['moustache']:
        top = np.stack([xs * 1.05, upper - 0.03, zs + 0.02], 1)
        shapes.line(top, ident['hair'], 0.03)
    return shapes


def render_frames(label: int,
                  num_frames: int,
                  rng: np.random.Generator,
                  size: int = 112,
                  ident: Optional[dict] = None,
                  scene: Optional[dict] = None) -> Iterator[np.ndarray]:
    """Yield the BGR uint8 frames of one clip.

    Args:
        label (int): Class 0..10 in :data:`~mmstt.datasets.MAFW_CLASSES`
            order (DFEW's seven first).
        num_frames (int): Frames of the clip (at least 1).
        rng (np.random.Generator): The clip's random stream; identity and
            scene are drawn from it when not given.
        size (int): Side of the square frames in pixels. Defaults to 112.
        ident (dict, optional): Identity from :func:`sample_identity`.
            Defaults to ``None`` (drawn).
        scene (dict, optional): Scene from :func:`sample_scene`.
            Defaults to ``None`` (drawn).

    Yields:
        np.ndarray: ``(size, size, 3)`` BGR uint8 frames.
    """
    if not 0 <= label < len(MAFW_CLASSES):
        raise ValueError(f'label must be in 0..{len(MAFW_CLASSES) - 1}, '
                         f'got {label}')
    if num_frames < 1:
        raise ValueError(f'num_frames must be >= 1, got {num_frames}')
    name = MAFW_CLASSES[label]
    ident = ident if ident is not None else sample_identity(rng)
    scene = scene if scene is not None else sample_scene(rng, num_frames)
    back = _background(size, scene)
    # lighting: a directional ramp, a colour cast and a gain drifting in
    # time; multiplied onto the whole frame (face and background alike).
    g = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    ramp = (
        np.cos(scene['light_dir']) * g[None, :] +
        np.sin(scene['light_dir']) * g[:, None])
    field = (1 + scene['light_slope'] * ramp)[..., None] * np.array(
        scene['cast'], np.float32)
    noise_rng = np.random.default_rng(scene['noise_seed'])
    bank = [
        noise_rng.normal(0, scene['noise'], (size, size, 3)).astype(np.float32)
        for _ in range(3)
    ]
    style = np.array(ident['style'])
    head, glasses_nose = _head_shapes(ident)
    t_all = np.linspace(0., 1., num_frames)
    for i in range(num_frames):
        t = t_all[i]
        p = expression_params(name, float(scene['intensity'][i]))
        for k, key in enumerate(('eye_open', 'corner', 'jaw')):
            p[key] = NEUTRAL_FACE[key] + style[k] * (
                p[key] - NEUTRAL_FACE[key])
        p['talk'] = float(scene['talk'][i])
        ph = scene['phase']
        sway = scene['sway']
        yaw = scene['yaw'] + sway[0] * np.sin(2 * np.pi * t + ph[0])
        pitch = (
            scene['pitch'] + sway[1] * np.sin(2 * np.pi * t + ph[1]) +
            0.25 * p['pitch'])
        roll = scene['roll'] + sway[2] * np.sin(2 * np.pi * t + ph[2])
        scale = size * scene['scale'] * (1 + scene['zoom'] * t)
        centre = (size * (0.5 + scene['shift'][0] + scene['drift'][0] * t +
                          0.01 * np.sin(2 * np.pi * t + ph[3])),
                  size * (0.52 + scene['shift'][1] + scene['drift'][1] * t +
                          0.01 * np.sin(2 * np.pi * t + ph[4]) +
                          0.03 * p['pitch'] * scene['scale']))
        cam = _Camera(yaw, pitch, roll, scale, centre, ident['face_w'])
        frame = back.copy()
        cam.draw(
            frame, head + _eye_shapes(ident, p, float(scene['blinks'][i])) +
            glasses_nose + _mouth_shapes(ident, p))
        gain = scene['gain'] * (1 + scene['gain_drift'] * (t - 0.5))
        out = frame.astype(np.float32) * (field * gain)
        if scene['noise'] > 0.5:
            out += bank[i % 3]
        out = np.clip(out, 0, 255).astype(np.uint8)
        if scene['blur'] > 0.3:
            out = cv2.GaussianBlur(out, (5, 5), scene['blur'])
        yield out


def render_clip(label: int,
                num_frames: int,
                seed: int,
                size: int = 112) -> List[np.ndarray]:
    """Render one drawn face clip of class ``label``.

    Args:
        label (int): Class 0..10: happy, sad, neutral, angry, surprise,
            disgust, fear (DFEW's order), then contempt, anxiety,
            helplessness, disappointment (MAFW's).
        num_frames (int): Frames of the clip.
        seed (int): Random seed of identity, scene and dynamics.
        size (int): Side of the square face-crop frames. Defaults to 112.

    Returns:
        list[np.ndarray]: ``num_frames`` RGB uint8 frames of shape
        ``(size, size, 3)``.
    """
    rng = np.random.default_rng(seed)
    return [
        cv2.cvtColor(f, cv2.COLOR_BGR2RGB)
        for f in render_frames(label, num_frames, rng, size)
    ]
