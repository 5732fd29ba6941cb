# Copyright (c) OpenMMLab. All rights reserved.
"""Export a recognizer to ONNX and check the file with onnxruntime.

The graph takes raw clips and returns class probabilities, so a deployment
needs nothing of mmstt:

- input ``clips``: float32 ``(N, 3, T, H, W)``, pixel values 0..255 in the
  channel order the test pipeline produces (RGB); the model's data
  preprocessor (channel flip, mean/std) is part of the graph;
- output ``scores``: float32 ``(N, num_classes)``, softmax probabilities;
- ``N`` is dynamic, ``T``, ``H`` and ``W`` are fixed at export;
- metadata (``metadata_props``): ``class_names`` (JSON list), ``num_frames``,
  ``input_size`` (``"H,W"``), ``input_format``, ``output`` and the
  ``opset``.

The export runs on a copy of the model rebuilt with the neck's plain
reference kernels (``model.neck.kernel='reference'``) and the same weights;
the check compares onnxruntime with the model as given (its production
kernels and data preprocessor) on random clips.
"""
import copy
import inspect
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import mmengine
import numpy as np
import torch
import torch.nn as nn
from mmaction.registry import DATASETS, MODELS
from mmaction.structures import ActionDataSample

__all__ = [
    'INPUT_NAME', 'OUTPUT_NAME', 'ONNXCheckError', 'ProbabilityModel',
    'check_onnx', 'config_class_names', 'export_onnx', 'input_spec',
    'reference_model'
]

#: Name of the graph input (raw clips).
INPUT_NAME = 'clips'
#: Name of the graph output (class probabilities).
OUTPUT_NAME = 'scores'
#: Largest accepted probability difference between onnxruntime and torch.
DEFAULT_TOLERANCE = 1e-4


class ONNXCheckError(RuntimeError):
    """onnxruntime disagrees with PyTorch beyond the tolerance."""


class ProbabilityModel(nn.Module):
    """Raw clips to class probabilities: what the ONNX graph computes.

    Args:
        recognizer (nn.Module): An STT recognizer whose data preprocessor is
            an ``ActionDataPreprocessor`` with ``format_shape='NCTHW'``.
    """

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        pre = recognizer.data_preprocessor
        shape = getattr(pre, 'format_shape', 'NCTHW')
        if shape != 'NCTHW':
            raise ValueError('ONNX export needs a data preprocessor with '
                             f"format_shape='NCTHW', got {shape!r}")
        self.recognizer = recognizer
        self.to_rgb = bool(getattr(pre, 'to_rgb', False))
        self.normalize = bool(getattr(pre, '_enable_normalize', False))
        if self.normalize:
            # (C, 1, 1, 1) -> (1, C, 1, 1, 1)
            self.register_buffer(
                'mean',
                pre.mean.detach().float().reshape(1, -1, 1, 1, 1))
            self.register_buffer(
                'std',
                pre.std.detach().float().reshape(1, -1, 1, 1, 1))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Classify clips.

        Args:
            clips (torch.Tensor): Raw clips ``(N, 3, T, H, W)``, 0..255.

        Returns:
            torch.Tensor: Probabilities of shape ``(N, num_classes)``.
        """
        x = clips.float()
        if self.to_rgb:
            x = x.flip(1)
        if self.normalize:
            x = (x - self.mean) / self.std
        # One view per clip, the whole batch at once: backbone, neck and
        # head called directly (the recognizer's view chunking would pin a
        # dynamic N in the trace).
        model = self.recognizer
        logits = model.cls_head(model.neck(model.backbone(x)))
        return logits.float().softmax(dim=-1)


def _neck_reference_cfg(neck_cfg: dict) -> dict:
    """The neck config with the plain reference kernels selected."""
    neck_cfg = copy.deepcopy(neck_cfg)
    neck_cls = MODELS.get(neck_cfg['type'])
    params = inspect.signature(neck_cls.__init__).parameters \
        if neck_cls is not None else {}
    if neck_cls is not None and 'kernel' not in params:
        raise ValueError(f'the neck {neck_cfg["type"]} has no kernel '
                         "switch (model.neck.kernel='reference')")
    neck_cfg['kernel'] = 'reference'
    return neck_cfg


def reference_model(model: nn.Module, cfg: mmengine.Config) -> nn.Module:
    """Rebuild ``model`` with reference kernels and copy its weights.

    Args:
        model (nn.Module): The recognizer (any kernels).
        cfg (Config): Its config (``cfg.model``).

    Returns:
        nn.Module: A CPU float32 copy in eval mode with the same weights
        (loaded strictly) and ``model.neck.kernel='reference'``.
    """
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg['neck'] = _neck_reference_cfg(model_cfg['neck'])
    ref = MODELS.build(model_cfg)
    state = {
        k: v.detach().cpu().float()
        if v.is_floating_point() else v.detach().cpu()
        for k, v in model.state_dict().items()
    }
    ref.load_state_dict(state, strict=True)
    return ref.eval()


def config_class_names(cfg: mmengine.Config) -> Optional[List[str]]:
    """Class names of the config's test (else val) data set.

    Args:
        cfg (Config): A config with ``test_dataloader`` or
            ``val_dataloader``.

    Returns:
        list[str] | None: ``metainfo['classes']`` of the data set config,
        else the data set class's ``METAINFO['classes']``; None if neither
        is known.
    """
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key, None)
        if not loader or 'dataset' not in loader:
            continue
        dataset = loader['dataset']
        meta = dataset.get('metainfo', None) or {}
        if meta.get('classes'):
            return list(meta['classes'])
        dataset_cls = DATASETS.get(dataset.get('type', ''))
        classes = getattr(dataset_cls, 'METAINFO', {}).get('classes')
        if classes:
            return list(classes)
    return None


def input_spec(cfg: mmengine.Config) -> Tuple[int, Tuple[int, int]]:
    """``T`` and ``(H, W)`` of the config's test pipeline.

    Args:
        cfg (Config): A config with ``test_pipeline`` or a test data set.

    Returns:
        tuple: ``(num_frames, (height, width))``: the frame sampler's
        ``clip_len`` times its ``num_clips`` is not used (one view per
        clip); the size is the last fixed ``Resize`` (``keep_ratio=False``)
        or ``CenterCrop``. Falls back to the neck's ``num_frames`` and
        112x112.
    """
    pipeline = cfg.get('test_pipeline', None)
    if pipeline is None and cfg.get('test_dataloader', None):
        pipeline = cfg.test_dataloader.dataset.get('pipeline', None)
    num_frames = int(cfg.model.neck.get('num_frames', 16))
    size = (112, 112)
    for step in pipeline or []:
        kind = str(step.get('type', '')).split('.')[-1]
        if 'clip_len' in step and kind.endswith('SampleFrames'):
            num_frames = int(step['clip_len'])
        elif kind == 'Resize' and not step.get('keep_ratio', True):
            scale = step['scale']
            scale = (scale, scale) if isinstance(scale, int) else scale
            # mmaction's scale is (w, h).
            size = (int(scale[1]), int(scale[0]))
        elif kind == 'CenterCrop':
            crop = step['crop_size']
            crop = (crop, crop) if isinstance(crop, int) else crop
            size = (int(crop[1]), int(crop[0]))
    return num_frames, size


def _torch_scores(model: nn.Module, clips: np.ndarray) -> np.ndarray:
    """The recognizer's own prediction (data preprocessor + predict)."""
    device = next(model.parameters()).device
    data = dict(
        inputs=[torch.from_numpy(clip[None]).to(device) for clip in clips],
        data_samples=[ActionDataSample() for _ in clips])
    with torch.no_grad():
        results = model.test_step(data)
    return np.stack(
        [r.pred_score.detach().float().cpu().numpy() for r in results])


def check_onnx(model: nn.Module,
               onnx_file: str,
               batch_sizes: Sequence[int] = (1, 3),
               tolerance: float = DEFAULT_TOLERANCE,
               seed: int = 0) -> Dict[int, float]:
    """Compare an exported file with the PyTorch model on random clips.

    The PyTorch side is the recognizer's ``test_step`` (its data
    preprocessor and prediction, one view per clip), so the check covers
    the preprocessing and softmax built into the graph as well.

    Args:
        model (nn.Module): The recognizer in eval mode.
        onnx_file (str): The exported file.
        batch_sizes (Sequence[int]): Batch sizes to run. Defaults to
            ``(1, 3)``.
        tolerance (float): Largest accepted absolute probability difference.
            Defaults to 1e-4.
        seed (int): Seed of the random clips (uniform 0..255). Defaults to 0.

    Returns:
        dict[int, float]: Largest absolute difference per batch size.

    Raises:
        ONNXCheckError: If a difference exceeds ``tolerance``, a score is
            not finite or the output shape is wrong; the message gives the
            differences.
    """
    from .onnx_inference import ONNXRecognizer
    runner = ONNXRecognizer(onnx_file)
    rng = np.random.default_rng(seed)
    diffs = {}
    for n in batch_sizes:
        clips = rng.uniform(0, 255,
                            (n, ) + runner.clip_shape).astype(np.float32)
        got = runner.predict_scores(clips)
        want = _torch_scores(model, clips)
        if got.shape != want.shape:
            raise ONNXCheckError(
                f'{onnx_file}: onnxruntime returned shape {got.shape} for '
                f'batch {n}, PyTorch {want.shape}')
        if not np.isfinite(got).all():
            raise ONNXCheckError(f'{onnx_file}: onnxruntime returned '
                                 f'non-finite scores for batch {n}')
        diffs[n] = float(np.abs(got.astype(np.float64) - want).max())
    worst = max(diffs.values())
    if worst > tolerance:
        detail = ', '.join(f'batch {n}: {d:.3g}' for n, d in diffs.items())
        raise ONNXCheckError(
            f'{onnx_file}: onnxruntime differs from PyTorch by up to '
            f'{worst:.3g} in probability (tolerance {tolerance:g}; '
            f'{detail})')
    return diffs


def _check_dynamic_batch(path: str) -> None:
    """Refuse a graph whose batch size was fixed during tracing.

    The exporter silently falls back to the example's shape when the model
    specialises on the batch size (a guard on ``N`` in its Python code).
    """
    import onnx
    proto = onnx.load(path, load_external_data=False)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    if dims[0].HasField('dim_value'):
        os.replace(path, path + '.failed')
        raise ONNXCheckError(
            f'{path}: the exported batch size is fixed to '
            f'{dims[0].dim_value}; the model specialises on N while traced '
            '(run torch.export.export with a Dim for clips to see where); '
            f'graph kept as {path}.failed')


def _set_metadata(path: str, props: Dict[str, str]) -> None:
    """Write ``props`` into the file's ``metadata_props``."""
    import onnx
    proto = onnx.load(path)
    onnx.helper.set_model_props(proto, props)
    onnx.checker.check_model(proto)
    onnx.save(proto, path)


def export_onnx(model: nn.Module,
                cfg: mmengine.Config,
                output_file: str,
                num_frames: Optional[int] = None,
                shape: Optional[Tuple[int, int]] = None,
                opset: int = 18,
                class_names: Optional[Sequence[str]] = None,
                verify: bool = True,
                batch_sizes: Sequence[int] = (1, 3),
                tolerance: float = DEFAULT_TOLERANCE) -> dict:
    """Export a recognizer to ONNX (dynamo exporter) and check it.

    Args:
        model (nn.Module): The recognizer with its trained weights.
        cfg (Config): Its config (model, test pipeline, data set).
        output_file (str): Where the ``.onnx`` file goes.
        num_frames (int, optional): ``T`` of the input. Defaults to None
            (the test pipeline's ``clip_len``).
        shape (tuple[int, int], optional): ``(H, W)`` of the input.
            Defaults to None (the test pipeline's resize).
        opset (int): ONNX opset (18 or later). Defaults to 18.
        class_names (Sequence[str], optional): Stored in the metadata;
            its length must equal the head's ``num_classes``. Defaults to
            None (the config's data set classes).
        verify (bool): Check the file with :func:`check_onnx`. Defaults to
            True.
        batch_sizes (Sequence[int]): Batch sizes of the check. Defaults to
            ``(1, 3)``.
        tolerance (float): Tolerance of the check. Defaults to 1e-4.

    Returns:
        dict: ``output_file``, ``input_shape`` (with ``'N'``),
        ``num_classes``, ``class_names``, ``opset`` and ``max_diff`` (per
        batch size, empty without ``verify``).

    Raises:
        ValueError: If the class names do not match the head or the opset
            is below 18.
        ONNXCheckError: If the check fails; the file is then renamed to
            ``output_file + '.failed'``.
    """
    if opset < 18:
        raise ValueError(f'opset {opset}: the dynamo exporter needs 18 or '
                         'later')
    default_frames, default_size = input_spec(cfg)
    num_frames = int(num_frames or default_frames)
    height, width = tuple(shape) if shape is not None else default_size
    num_classes = int(model.cls_head.num_classes)
    if class_names is None:
        class_names = config_class_names(cfg)
    if class_names is None or len(class_names) != num_classes:
        found = 'none' if class_names is None else \
            f'{len(class_names)} ({", ".join(class_names)})'
        raise ValueError(
            f'the head has {num_classes} classes but the class names are '
            f'{found}; give class_names (or a checkpoint whose '
            "meta['dataset_meta']['classes'] has them)")
    class_names = [str(c) for c in class_names]

    wrapper = ProbabilityModel(reference_model(model, cfg)).eval()
    dummy = torch.rand(2, 3, num_frames, height, width) * 255
    out_dir = osp.dirname(osp.abspath(output_file))
    os.makedirs(out_dir, exist_ok=True)
    batch = torch.export.Dim('N', min=1, max=4096)
    with torch.no_grad():
        torch.onnx.export(
            wrapper, (dummy, ),
            output_file,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes={'clips': {
                0: batch
            }},
            opset_version=opset,
            dynamo=True,
            external_data=False,
            verbose=False)
    _check_dynamic_batch(output_file)
    _set_metadata(
        output_file,
        dict(
            class_names=json.dumps(class_names),
            num_frames=str(num_frames),
            input_size=f'{height},{width}',
            input_format='NCTHW float32 0..255 RGB',
            output='softmax probabilities (N, num_classes)',
            opset=str(opset)))
    result = dict(
        output_file=output_file,
        input_shape=('N', 3, num_frames, height, width),
        num_classes=num_classes,
        class_names=class_names,
        opset=opset,
        max_diff={})
    if verify:
        try:
            result['max_diff'] = check_onnx(model, output_file, batch_sizes,
                                            tolerance)
        except ONNXCheckError:
            os.replace(output_file, output_file + '.failed')
            raise
    return result
