# Copyright (c) OpenMMLab. All rights reserved.
"""Inference on one clip: a video file, a folder of frames or frames.

The config's test pipeline is reused as it is, except that its media
loading steps (``DecordInit``/``DecordDecode``, ``FrameFolderDecode``,
``RawFrameDecode`` ...) are replaced by one step that takes the sampled
frames from memory. So a DFEW config whose test set is read from frame
folders also classifies a video, and the frames may be face-cropped first.
"""
import os.path as osp
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

import cv2
import mmengine
import numpy as np
import torch
import torch.nn as nn
from mmaction.apis import init_recognizer as mmaction_init_recognizer
from mmaction.structures import ActionDataSample
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from mmstt.datasets.frame_folder import IMAGE_EXTENSIONS, list_frame_files
from .runner_utils import resolve_checkpoint

__all__ = [
    'build_inference_pipeline', 'default_device', 'inference_recognizer',
    'init_recognizer', 'read_clip_frames'
]

#: Pipeline steps that read media from disk; inference replaces them.
MEDIA_TRANSFORMS = ('DecordInit', 'DecordDecode', 'OpenCVInit', 'OpenCVDecode',
                    'PyAVInit', 'PyAVDecode', 'PIMSInit', 'PIMSDecode',
                    'RawFrameDecode', 'FrameFolderDecode', 'ImageDecode')

ClipInput = Union[str, Path, Sequence[np.ndarray]]


def default_device() -> str:
    """``'cuda:0'`` when CUDA is available, else ``'cpu'``."""
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def init_recognizer(config: Union[str, Path, mmengine.Config],
                    checkpoint: Optional[str] = None,
                    device: Union[str, torch.device] = 'cpu',
                    cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a recognizer from a config and load a checkpoint.

    Like :func:`mmaction.apis.init_recognizer`, but the device defaults to
    the CPU, ``cfg_options`` may edit the config, and ``checkpoint`` may be
    a glob matching one file. Loading goes through torch's safe loader
    (see :mod:`mmstt.utils.compat`).

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str, optional): Checkpoint path, URL or glob. None
            keeps the initial weights. Defaults to None.
        device (str | torch.device): Device. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Keys merged into the config.
            Defaults to None.

    Returns:
        nn.Module: The model in eval mode with ``model.cfg`` set.
    """
    if isinstance(config, (str, Path)):
        config = mmengine.Config.fromfile(str(config))
    elif not isinstance(config, mmengine.Config):
        raise TypeError('config must be a file name or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    if checkpoint is not None:
        checkpoint = resolve_checkpoint(checkpoint)
    return mmaction_init_recognizer(config, checkpoint, device=device)


def read_clip_frames(path: Union[str, Path]) -> List[np.ndarray]:
    """Read every frame of a clip as RGB.

    Args:
        path (str | Path): A video file, a folder of frame images (sorted
            numerically, as the data sets do) or a single image.

    Returns:
        list[np.ndarray]: uint8 arrays of shape ``(H, W, 3)``, RGB.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If no frame can be read from it; names the path.
    """
    path = str(path)
    if osp.isdir(path):
        names = list_frame_files(path)
        if not names:
            raise ValueError(f'{path}: the folder holds no frame image '
                             f'({", ".join(IMAGE_EXTENSIONS)})')
        frames = []
        for name in names:
            img = cv2.imread(osp.join(path, name), cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f'{osp.join(path, name)}: cannot decode')
            frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        return frames
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist')
    if osp.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'{path}: cannot decode the image')
        return [cv2.cvtColor(img, cv2.COLOR_BGR2RGB)]
    cap = cv2.VideoCapture(path)
    frames = []
    try:
        while True:
            ok, img = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not frames:
        raise ValueError(f'{path}: no frame could be decoded (not a video, '
                         'or a codec OpenCV lacks)')
    return frames


class _TakeFrames:
    """Pipeline step: pick ``frame_inds`` from frames held in memory."""

    def __call__(self, results: dict) -> dict:
        """Set ``imgs`` from ``results['all_frames']``.

        Args:
            results (dict): Needs ``all_frames`` and ``frame_inds``.

        Returns:
            dict: ``results`` with ``imgs``, ``img_shape`` and
            ``original_shape``.
        """
        frames = results.pop('all_frames')
        inds = np.asarray(results['frame_inds']).reshape(-1)
        inds = inds - int(results.get('start_index', 0))
        inds = np.clip(inds, 0, len(frames) - 1)
        results['imgs'] = [frames[i].copy() for i in inds.tolist()]
        results['original_shape'] = results['imgs'][0].shape[:2]
        results['img_shape'] = results['imgs'][0].shape[:2]
        return results


def build_inference_pipeline(pipeline_cfg: Sequence) -> Compose:
    """Turn a test pipeline config into an in-memory inference pipeline.

    Args:
        pipeline_cfg (Sequence): Test pipeline (dicts or callables).

    Returns:
        Compose: The pipeline with its media steps replaced by one step
        that takes the sampled frames from ``results['all_frames']``.

    Raises:
        ValueError: If the pipeline has no frame sampling step before its
            decoding step.
    """
    steps: List[Union[dict, Callable]] = []
    inserted = False
    for step in pipeline_cfg:
        kind = step.get('type') if isinstance(step, dict) else None
        if isinstance(kind, str) and kind.split('.')[-1] in MEDIA_TRANSFORMS:
            if kind.split('.')[-1].endswith('Decode') and not inserted:
                steps.append(_TakeFrames())
                inserted = True
            continue
        steps.append(step)
    if not inserted:
        raise ValueError('the test pipeline has no decoding step '
                         f'({", ".join(MEDIA_TRANSFORMS)}) to replace')
    return Compose(steps)


def _test_pipeline_cfg(cfg: mmengine.Config) -> Sequence:
    """The config's top-level ``test_pipeline``, else the test set's."""
    if cfg.get('test_pipeline', None) is not None:
        return cfg.test_pipeline
    return cfg.test_dataloader.dataset.pipeline


def inference_recognizer(
    model: nn.Module,
    clip: ClipInput,
    test_pipeline: Optional[Compose] = None,
    face_cropper: Optional[Callable[[List[np.ndarray]],
                                    List[np.ndarray]]] = None
) -> ActionDataSample:
    """Classify one clip.

    Args:
        model (nn.Module): A recognizer from :func:`init_recognizer`.
        clip (str | Path | Sequence[np.ndarray]): A video file, a frame
            folder, an image, or frames (uint8 RGB ``(H, W, 3)``).
        test_pipeline (Compose, optional): In-memory pipeline from
            :func:`build_inference_pipeline`; built from ``model.cfg`` when
            None. Defaults to None.
        face_cropper (callable, optional): Maps the list of RGB frames to
            face crops (e.g. a Haar-cascade detector) before sampling.
            Defaults to None.

    Returns:
        ActionDataSample: ``pred_score`` of shape ``(num_classes,)``
        (probabilities when the head averages clips with ``'prob'``) and
        ``pred_label``.
    """
    if isinstance(clip, (str, Path)):
        frames = read_clip_frames(clip)
    else:
        frames = list(clip)
        if not frames:
            raise ValueError('no frames given')
    if face_cropper is not None:
        frames = face_cropper(frames)
    if test_pipeline is None:
        init_default_scope(model.cfg.get('default_scope', 'mmaction'))
        test_pipeline = build_inference_pipeline(_test_pipeline_cfg(model.cfg))
    data = dict(
        all_frames=frames,
        total_frames=len(frames),
        start_index=0,
        label=-1,
        modality='RGB',
        frame_dir=str(clip) if isinstance(clip, (str, Path)) else '<frames>')
    data = pseudo_collate([test_pipeline(data)])
    with torch.no_grad():
        return model.test_step(data)[0]
