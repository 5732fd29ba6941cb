# Copyright (c) OpenMMLab. All rights reserved.
"""Build STT and its inputs the way the product does, for benchmarking."""
import copy
import os.path as osp
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict

__all__ = [
    'REPO_ROOT', 'MODEL_CONFIG', 'load_model_cfg', 'build_model', 'build_neck',
    'make_batch', 'neck_input', 'classifier_layer', 'describe_model'
]

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODEL_CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'stt_r18.py')


def _strip_pretrained(cfg: ConfigDict) -> None:
    """Drop every pretrained-weight reference so nothing is loaded.

    Benchmarks time random-initialised weights (speed does not depend on
    the values); a checkpoint can be loaded afterwards on purpose.
    """
    for key in ('pretrained', 'init_cfg'):
        if key in cfg and cfg[key] is not None:
            cfg[key] = None
    for value in cfg.values():
        if isinstance(value, dict):
            _strip_pretrained(value)


def _merge(cfg: dict, overrides: dict) -> None:
    """Merge nested ``overrides`` into ``cfg`` in place."""
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            _merge(cfg[key], value)
        else:
            cfg[key] = value


def load_model_cfg(config: str = MODEL_CONFIG) -> ConfigDict:
    """Read ``model`` from a config file, without pretrained weights.

    Args:
        config (str): Config path. Defaults to
            ``configs/_base_/models/stt_r18.py``.

    Returns:
        ConfigDict: A deep copy of ``cfg.model`` with ``pretrained`` and
        ``init_cfg`` entries set to None.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'model config {config} does not exist')
    cfg = Config.fromfile(config)
    if 'model' not in cfg:
        raise KeyError(f'{config} defines no `model`')
    model_cfg = copy.deepcopy(cfg.model)
    _strip_pretrained(model_cfg)
    return model_cfg


def _registry():
    """Import mmstt (registers everything) and return mmaction's MODELS."""
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules

    import mmstt  # noqa: F401
    register_all_modules(init_default_scope=True)
    return MODELS


def build_model(config: str = MODEL_CONFIG,
                device: torch.device = torch.device('cpu'),
                checkpoint: Optional[str] = None,
                overrides: Optional[dict] = None) -> nn.Module:
    """Build the STT recognizer from its config.

    Args:
        config (str): Model config path.
        device (torch.device): Where to put the model.
        checkpoint (str, optional): Weights to load (``state_dict`` of the
            recognizer, as saved by mmengine).
        overrides (dict, optional): Merged into the model config, e.g.
            ``dict(neck=dict(num_frames=8))``.

    Returns:
        nn.Module: The recognizer, in eval mode.
    """
    models = _registry()
    cfg = load_model_cfg(config)
    if overrides:
        _merge(cfg, overrides)
    model = models.build(cfg)
    if checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu')
    return model.to(device).eval()


def build_neck(
    config: str = MODEL_CONFIG,
    device: torch.device = torch.device('cpu')
) -> nn.Module:
    """Build only the neck of the model config.

    Args:
        config (str): Model config path.
        device (torch.device): Where to put the neck.

    Returns:
        nn.Module: ``SpatioTemporalTransformer`` as configured, eval mode.
    """
    models = _registry()
    cfg = load_model_cfg(config)
    if cfg.get('neck') is None:
        raise KeyError(f'{config}: model has no neck')
    return models.build(cfg.neck).to(device).eval()


def neck_input(neck: nn.Module,
               batch: int,
               device: torch.device = torch.device('cpu'),
               frames: Optional[int] = None,
               grid: Optional[Tuple[int, int]] = None) -> torch.Tensor:
    """Random feature maps shaped like the tokenizer's output.

    Args:
        neck (nn.Module): The neck (reads ``in_channels``, ``num_frames``
            and ``grid_size``).
        batch (int): Clips.
        device (torch.device): Device.
        frames (int, optional): Override T.
        grid (tuple[int, int], optional): Override (h, w).

    Returns:
        torch.Tensor: (B, C, T, h, w) float32.
    """
    t = frames or neck.num_frames
    h, w = grid or neck.grid_size
    gen = torch.Generator().manual_seed(0)
    return torch.randn(
        batch, neck.in_channels, t, h, w, generator=gen).to(device)


def make_batch(batch: int,
               frames: int,
               size: int,
               num_classes: int = 7,
               seed: int = 0) -> Dict[str, List]:
    """A packed batch as the data loader hands it to ``*_step``.

    Args:
        batch (int): Clips.
        frames (int): Frames per clip.
        size (int): Frame height and width.
        num_classes (int): Labels are drawn from ``range(num_classes)``.
        seed (int): Random seed of pixels and labels.

    Returns:
        dict: ``inputs`` (list of uint8 (1, 3, T, H, W) tensors) and
        ``data_samples`` (list of ``ActionDataSample`` with ``gt_label``).
    """
    from mmaction.structures import ActionDataSample
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.randint(
                0,
                256, (1, 3, frames, size, size),
                generator=gen,
                dtype=torch.uint8))
        sample = ActionDataSample()
        sample.set_gt_label(
            int(torch.randint(0, num_classes, (1, ), generator=gen)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def classifier_layer(model: nn.Module, num_classes: int = 7) -> nn.Linear:
    """Return the last linear layer of the head (the classifier).

    Args:
        model (nn.Module): The recognizer.
        num_classes (int): Expected ``out_features``.

    Returns:
        nn.Linear: The classifier layer.
    """
    found = None
    for module in model.cls_head.modules():
        if isinstance(module, nn.Linear) and \
                module.out_features == num_classes:
            found = module
    if found is None:
        raise LookupError(
            f'no Linear(*, {num_classes}) in {type(model.cls_head)}')
    return found


def describe_model(model: nn.Module) -> Dict[str, object]:
    """Sizes and speed-relevant settings of the benchmarked model.

    Args:
        model (nn.Module): The recognizer.

    Returns:
        dict: Parameter counts and the neck/backbone settings that change
        speed (read from the built modules, so the JSON says what ran).
    """

    def count(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    neck = model.neck
    keys = ('in_channels', 'embed_dims', 'num_frames', 'grid_size', 'depth',
            'output', 'chunk_tokens', 'prune_last_block')
    settings = {}
    for key in keys:
        value = getattr(neck, key, None)
        settings[key] = list(value) if isinstance(value, tuple) else value
    return dict(
        type=type(model).__name__,
        params=count(model),
        backbone_params=count(model.backbone),
        neck_params=count(neck),
        head_params=count(model.cls_head),
        backbone=dict(
            type=type(model.backbone).__name__,
            out_stage=getattr(model.backbone, 'out_stage', None),
            channels_last=getattr(model.backbone, 'channels_last', None)),
        neck=dict(type=type(neck).__name__, **settings))
