# Copyright (c) OpenMMLab. All rights reserved.
"""Inference on one clip: a video file, a folder of frames or frames.

The config's test pipeline is reused as it is, except that its media
loading steps (``DecordInit``/``DecordDecode``, ``FrameFolderDecode``,
``RawFrameDecode`` ...) are replaced by one step that takes the sampled
frames from memory. So a DFEW config whose test set is read from frame
folders also classifies a video, and the frames may be face-cropped first.

Why not MMAction2's own ``mmaction.apis.inference_recognizer``: it hands
the test pipeline a file name (video) or a folder name with
``total_frames`` counted from the folder and MMAction2's ``img_{:05}.jpg``
naming (frames), so it needs the config's pipeline to decode that very
kind of media: an mmstt frame-folder config given a video, or given a
folder named another way, fails (``KeyError: 'total_frames'`` or missing
files). :func:`inference_recognizer` here works with every mmstt config on
every kind of input; :func:`init_recognizer` here loads strictly.

A model is anything with a ``test_step`` (an MMAction2 recognizer) or
anything with ``predict_scores(clips) -> (N, K)`` and ``class_names``
(e.g. an exported ONNX model), so the same functions serve both.
"""
import os.path as osp
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Sequence, Union

import cv2
import mmengine
import numpy as np
import torch
import torch.nn as nn
from mmaction.apis import init_recognizer as mmaction_init_recognizer
from mmaction.structures import ActionDataSample
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from mmstt.datasets.dfer_classes import DFER_CLASSES
from mmstt.datasets.frame_folder import IMAGE_EXTENSIONS, list_frame_files
from mmstt.datasets.video_io import VideoReader
from mmstt.engine.checkpoint import (checkpoint_class_names,
                                     load_checkpoint_strict,
                                     resolve_checkpoint)

__all__ = [
    'build_inference_pipeline', 'class_names_of', 'default_device',
    'config_pipeline', 'model_pipeline', 'inference_recognizer',
    'init_recognizer', 'iter_clip_frames', 'predict_probabilities',
    'read_clip_frames', 'to_probabilities', 'video_header_frames'
]

#: Pipeline steps that read media from disk; inference replaces them.
MEDIA_TRANSFORMS = ('DecordInit', 'DecordDecode', 'OpenCVInit', 'OpenCVDecode',
                    'PyAVInit', 'PyAVDecode', 'PIMSInit', 'PIMSDecode',
                    'RawFrameDecode', 'FrameFolderDecode', 'ImageDecode',
                    'DFERVideoInit', 'DFERVideoDecode')

ClipInput = Union[str, Path, Sequence[np.ndarray]]


def default_device() -> str:
    """``'cuda:0'`` when CUDA is available, else ``'cpu'``."""
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def init_recognizer(config: Union[str, Path, mmengine.Config],
                    checkpoint: Optional[str] = None,
                    device: Union[str, torch.device] = 'cpu',
                    cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a recognizer from a config and load a checkpoint strictly.

    Like :func:`mmaction.apis.init_recognizer`, but the device defaults to
    the CPU, ``cfg_options`` may edit the config, ``checkpoint`` may be a
    glob matching one file, and the weights are loaded by
    :func:`mmstt.engine.load_checkpoint_strict` (torch's safe loader; a
    missing, unexpected or mis-shaped key is an error naming the file).
    The class names stored in the checkpoint
    (``meta['dataset_meta']['classes']``) become ``model.dataset_meta``.

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str, optional): Checkpoint path or glob. None keeps the
            initial weights; a ``.onnx`` file (exported by
            ``tools/deployment/export_onnx.py``) gives an
            :class:`~mmstt.apis.ONNXRecognizer` instead. Defaults to None.
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
    if checkpoint is not None and str(checkpoint).lower().endswith('.onnx'):
        # An exported model (tools/deployment/export_onnx.py) runs in
        # onnxruntime; the config still gives the test pipeline.
        from .onnx_inference import ONNXRecognizer
        onnx_model = ONNXRecognizer(str(checkpoint), device=str(device))
        onnx_model.cfg = config
        return onnx_model
    model = mmaction_init_recognizer(config, None, device='cpu')
    if checkpoint is not None:
        checkpoint = resolve_checkpoint(
            str(checkpoint), hint='give the checkpoint as one file path')
        meta = load_checkpoint_strict(model, checkpoint, map_location='cpu')
        classes = checkpoint_class_names(meta)
        if classes is not None:
            model.dataset_meta = dict(meta['dataset_meta'])
    model.cfg = config
    model.to(device)
    model.eval()
    return model


def _num_classes(model: Any) -> Optional[int]:
    """Classifier width of an MMAction2 recognizer, None if unknown."""
    head = getattr(model, 'cls_head', None)
    num = getattr(head, 'num_classes', None)
    return int(num) if num is not None else None


def class_names_of(model: Any, num_classes: Optional[int] = None) -> List[str]:
    """The class names a model predicts, in label order.

    Taken from ``model.class_names`` (e.g. an ONNX model), else from
    ``model.dataset_meta['classes']`` (set from the checkpoint by
    :func:`init_recognizer`), else DFEW's seven names for a 7-class model,
    else ``class_0 ...``.

    Args:
        model (Any): A recognizer.
        num_classes (int, optional): Number of scores, when the model does
            not say. Defaults to None.

    Returns:
        list[str]: One name per class.
    """
    names = getattr(model, 'class_names', None)
    if names is None:
        meta = getattr(model, 'dataset_meta', None) or {}
        names = meta.get('classes', None) if isinstance(meta, dict) else None
    num = _num_classes(model) or num_classes
    if names is not None and (num is None or len(names) == num):
        return [str(n) for n in names]
    if num is None:
        raise ValueError('the model records neither class names nor a '
                         'class count')
    if num == len(DFER_CLASSES):
        return list(DFER_CLASSES)
    return [f'class_{i}' for i in range(num)]


def video_header_frames(path: Union[str, Path]) -> Optional[int]:
    """Frame count a video's container states (it may lie).

    Args:
        path (str | Path): Video file.

    Returns:
        int | None: The stated count, None when unknown.
    """
    return VideoReader(str(path)).header_frames


def _is_video(path: str) -> bool:
    """A file that is not an image: read as a video."""
    return (osp.isfile(path)
            and osp.splitext(path)[1].lower() not in IMAGE_EXTENSIONS)


def iter_clip_frames(path: Union[str, Path]) -> Iterator[np.ndarray]:
    """Yield the frames of a clip in order, as RGB, without keeping them.

    Videos are read with :class:`mmstt.datasets.video_io.VideoReader`
    (every frame, exactly; a truncated file ends where it stops decoding).

    Args:
        path (str | Path): A video file, a folder of frame images (sorted
            numerically, as the data sets do) or a single image.

    Yields:
        np.ndarray: uint8 ``(H, W, 3)`` RGB frames.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If a frame image cannot be decoded or a folder holds no
            image; names the path.
        CorruptClipError: If a video cannot be decoded; names the file.
    """
    path = str(path)
    if osp.isdir(path):
        names = list_frame_files(path)
        if not names:
            raise ValueError(f'{path}: the folder holds no frame image '
                             f'({", ".join(IMAGE_EXTENSIONS)})')
        for name in names:
            img = cv2.imread(osp.join(path, name), cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f'{osp.join(path, name)}: cannot decode')
            yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist')
    if not _is_video(path):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'{path}: cannot decode the image')
        yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return
    yield from VideoReader(path, cache_bytes=0).iter_frames()


def read_clip_frames(path: Union[str, Path]) -> List[np.ndarray]:
    """Read every frame of a clip as RGB.

    A video that yields fewer frames than its header states (a truncated
    file) is read as far as it decodes, with a :class:`UserWarning` naming
    the file and both counts.

    Args:
        path (str | Path): A video file, a folder of frame images (sorted
            numerically, as the data sets do) or a single image.

    Returns:
        list[np.ndarray]: uint8 arrays of shape ``(H, W, 3)``, RGB.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If a frame image cannot be read; names the path.
        CorruptClipError: If a video cannot be decoded; names the file.
    """
    path = str(path)
    if not _is_video(path):
        return list(iter_clip_frames(path))
    reader = VideoReader(path, cache_bytes=0)
    frames = list(reader.iter_frames())
    if reader.shortfall:
        warnings.warn(
            f'{path}: read {len(frames)} frames, but its header says '
            f'{reader.header_frames} (truncated or damaged video); using '
            f'the {len(frames)} that decode',
            stacklevel=2)
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


def config_pipeline(cfg: mmengine.Config) -> Compose:
    """The in-memory test pipeline of a config.

    Args:
        cfg (Config): A model config (``test_pipeline``, else the test
            set's pipeline).

    Returns:
        Compose: See :func:`build_inference_pipeline`.
    """
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    return build_inference_pipeline(_test_pipeline_cfg(cfg))


def model_pipeline(model: Any) -> Compose:
    """The in-memory test pipeline of a model's config (``model.cfg``).

    Args:
        model (Any): A model with a ``cfg`` attribute.

    Returns:
        Compose: See :func:`build_inference_pipeline`.
    """
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise ValueError(f'{type(model).__name__} has no cfg; pass '
                         'test_pipeline=config_pipeline(cfg)')
    return config_pipeline(cfg)


def to_probabilities(scores: np.ndarray) -> np.ndarray:
    """Scores as probabilities (softmax unless they already are).

    Args:
        scores (np.ndarray): ``(..., num_classes)`` scores.

    Returns:
        np.ndarray: Non-negative values summing to 1 over the last axis.
    """
    scores = np.asarray(scores, dtype=np.float64)
    sums = scores.sum(axis=-1, keepdims=True)
    if scores.min() >= 0 and np.all(np.abs(sums - 1.0) < 1e-3):
        return scores / sums
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def _pack(frames: Sequence[np.ndarray], pipeline: Compose, name: str) -> dict:
    """Run one clip held in memory through the inference pipeline."""
    frames = list(frames)
    if not frames:
        raise ValueError('no frames given')
    return pipeline(
        dict(
            all_frames=frames,
            total_frames=len(frames),
            start_index=0,
            label=-1,
            modality='RGB',
            frame_dir=name))


def _scores(model: Any, packed: List[dict]) -> np.ndarray:
    """``(N, K)`` scores of packed clips, from a recognizer or an engine."""
    if hasattr(model, 'test_step'):
        with torch.no_grad():
            samples = model.test_step(pseudo_collate(packed))
        return np.stack(
            [s.pred_score.detach().float().cpu().numpy() for s in samples])
    inputs = [np.asarray(p['inputs']) for p in packed]
    views = inputs[0].shape[0]
    clips = np.concatenate(inputs, axis=0).astype(np.float32)
    scores = np.asarray(model.predict_scores(clips), np.float64)
    scores = to_probabilities(scores).reshape(len(packed), views, -1)
    return scores.mean(axis=1)


def predict_probabilities(model: Any,
                          clips: Sequence[Sequence[np.ndarray]],
                          test_pipeline: Optional[Compose] = None,
                          batch_size: int = 8) -> np.ndarray:
    """Class probabilities of several clips held in memory.

    Args:
        model (Any): A recognizer (``test_step``) or an engine with
            ``predict_scores``.
        clips (Sequence[Sequence[np.ndarray]]): Clips of RGB frames.
        test_pipeline (Compose, optional): From
            :func:`build_inference_pipeline`; built from ``model.cfg`` when
            None. Defaults to None.
        batch_size (int): Clips per forward pass. Defaults to 8.

    Returns:
        np.ndarray: ``(len(clips), num_classes)`` probabilities.
    """
    if test_pipeline is None:
        test_pipeline = model_pipeline(model)
    out = []
    for start in range(0, len(clips), batch_size):
        packed = [
            _pack(c, test_pipeline, '<frames>')
            for c in clips[start:start + batch_size]
        ]
        out.append(to_probabilities(_scores(model, packed)))
    if not out:
        return np.zeros((0, len(class_names_of(model))))
    return np.concatenate(out, axis=0)


def inference_recognizer(
    model: Any,
    clip: ClipInput,
    test_pipeline: Optional[Compose] = None,
    face_cropper: Optional[Callable[[List[np.ndarray]],
                                    List[np.ndarray]]] = None
) -> ActionDataSample:
    """Classify one clip.

    Args:
        model (Any): A recognizer from :func:`init_recognizer`, or any
            object with ``predict_scores(clips)`` (``(N, 3, T, H, W)`` raw
            0..255 -> ``(N, K)``) and ``class_names``.
        clip (str | Path | Sequence[np.ndarray]): A video file, a frame
            folder, an image, or frames (uint8 RGB ``(H, W, 3)``).
        test_pipeline (Compose, optional): In-memory pipeline from
            :func:`build_inference_pipeline`; built from ``model.cfg`` when
            None. Defaults to None.
        face_cropper (callable, optional): Maps the list of RGB frames to
            face crops before sampling. Defaults to None.

    Returns:
        ActionDataSample: ``pred_score`` of shape ``(num_classes,)``
        (probabilities when the head averages clips with ``'prob'``) and
        ``pred_label``.
    """
    if isinstance(clip, (str, Path)):
        frames = read_clip_frames(clip)
        name = str(clip)
    else:
        frames = list(clip)
        name = '<frames>'
        if not frames:
            raise ValueError('no frames given')
    if face_cropper is not None:
        frames = face_cropper(frames)
    if test_pipeline is None:
        test_pipeline = model_pipeline(model)
    packed = [_pack(frames, test_pipeline, name)]
    if hasattr(model, 'test_step'):
        with torch.no_grad():
            return model.test_step(pseudo_collate(packed))[0]
    score = torch.from_numpy(_scores(model, packed)[0]).float()
    sample = ActionDataSample()
    sample.set_field(score, 'pred_score')
    sample.set_field(score.argmax(keepdim=True), 'pred_label')
    return sample
