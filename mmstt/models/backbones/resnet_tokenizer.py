# Copyright (c) OpenMMLab. All rights reserved.
"""Per-frame ResNet trunk that turns a clip into grids of tokens."""
from collections import OrderedDict
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader
from torch.nn.modules.batchnorm import _BatchNorm

from ..utils import kernels
from .basic_block import BasicBlock


@MODELS.register_module()
class ResNetTokenizer(BaseModule):
    """ResNet-18/34 applied to every frame, cut after ``out_stage``.

    ``(B, 3, T, H, W)`` -> frames ``(B*T, 3, H, W)`` -> stem (``conv1``,
    ``bn1``, ReLU, max-pool) and ``layer1`` ... ``layer{out_stage}`` ->
    ``(B, C_out, T, h, w)`` with ``h = H / 2**(out_stage + 1)``: at 112 x 112
    and ``out_stage=3``, ``(B, 256, T, 7, 7)``. Later stages are not built.

    Parameter names are torchvision's, so torchvision-layout checkpoints
    (the MS-Celeb-1M face ResNet-18 releases) load through
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)``: bare state dicts,
    ``{'state_dict': ...}``, keys prefixed ``module.``, or a whole
    recognizer's checkpoint (its ``backbone.`` keys, or set ``prefix``).
    ``checkpoint=None`` means no pretrained weights. Keys the backbone lacks
    (``fc``, later stages) are logged; a file with no fitting tensor is an
    error.

    Args:
        depth (int): 18 or 34. Defaults to 18.
        out_stage (int): Last stage built, 1..4. Defaults to 3.
        in_channels (int): Input channels. Defaults to 3.
        base_channels (int): Width of the stem and ``layer1``, doubled by
            each later stage. Defaults to 64.
        frozen_stages (int): Stages with frozen parameters and BN in eval
            mode: -1 none, 0 the stem, ``i`` the stem and ``layer1..i``.
            Defaults to -1.
        norm_eval (bool): Keep every BN layer in eval mode in training.
            Defaults to False.
        init_cfg (dict or list[dict], optional): Initialisation config. The
            default is Kaiming-normal convolutions and unit BN. Defaults to
            None.
    """

    arch_settings = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}

    def __init__(self,
                 depth: int = 18,
                 out_stage: int = 3,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for ResNetTokenizer, '
                           f'choose from {sorted(self.arch_settings)}')
        if not 1 <= out_stage <= 4:
            raise ValueError(f'out_stage must be in 1..4, got {out_stage}')
        if not -1 <= frozen_stages <= out_stage:
            raise ValueError(f'frozen_stages must be in -1..{out_stage}, '
                             f'got {frozen_stages}')
        self.depth = depth
        self.out_stage = out_stage
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        self.conv1 = nn.Conv2d(
            in_channels, base_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = base_channels
        for i, num_blocks in enumerate(self.arch_settings[depth][:out_stage]):
            out_channels = base_channels * 2**i
            stride = 1 if i == 0 else 2
            downsample = None
            if stride != 1 or channels != out_channels:
                downsample = nn.Sequential(
                    nn.Conv2d(
                        channels, out_channels, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(out_channels))
            blocks = [BasicBlock(channels, out_channels, stride, downsample)]
            blocks += [
                BasicBlock(out_channels, out_channels)
                for _ in range(num_blocks - 1)
            ]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            channels = out_channels
        self.out_channels = channels
        self._default_init()
        self._freeze_stages()

    def _default_init(self) -> None:
        """Kaiming-normal convolutions, BN weight 1 and bias 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(
                    m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, _BatchNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def init_weights(self) -> None:
        """Default initialisation, then the ``Pretrained`` weights if set."""
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            self._default_init()
            if cfg.get('checkpoint') is not None:
                self.load_pretrained(cfg['checkpoint'], cfg.get('prefix'),
                                     cfg.get('map_location', 'cpu'))
            self._is_init = True
        elif cfg:
            super().init_weights()
        else:
            self._default_init()
        self._freeze_stages()

    def load_pretrained(self,
                        checkpoint: str,
                        prefix: Optional[str] = None,
                        map_location: str = 'cpu') -> Dict[str, List[str]]:
        """Load backbone weights from a checkpoint file.

        Args:
            checkpoint (str): Path or URL, read by mmengine's
                ``CheckpointLoader``.
            prefix (str, optional): Prefix of the backbone keys in the file,
                e.g. ``'backbone.'``. Defaults to None: the keys as they are,
                or the ``backbone.`` ones if only those fit.
            map_location (str): Device of the loaded tensors. Defaults to
                ``'cpu'``.

        Returns:
            dict[str, list[str]]: Key names ``loaded``, ``missing`` (not in
            the file), ``ignored`` (not in the backbone) and ``mismatched``
            (wrong shape, not loaded).

        Raises:
            ValueError: If no tensor of the file fits the backbone.
        """
        raw = CheckpointLoader.load_checkpoint(
            checkpoint, map_location=map_location)
        if isinstance(raw, dict) and isinstance(raw.get('state_dict'), dict):
            raw = raw['state_dict']
        state = OrderedDict(
            (k[len('module.'):] if k.startswith('module.') else k, v)
            for k, v in raw.items() if isinstance(v, torch.Tensor))
        own = self.state_dict()
        if prefix is None and not own.keys() & state.keys():
            prefix = 'backbone.'
        if prefix is not None:
            state = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                                if k.startswith(prefix))
        fits = {
            k: v
            for k, v in state.items() if k in own and v.shape == own[k].shape
        }
        if not fits:
            raise ValueError(
                f'no weights in {checkpoint} fit ResNetTokenizer(depth='
                f'{self.depth}, out_stage={self.out_stage}); expected keys '
                'such as conv1.weight or layer1.0.conv1.weight (optionally '
                'under module. or backbone.)')
        self.load_state_dict(fits, strict=False)
        report = dict(
            loaded=list(fits),
            missing=[
                k for k in own
                if k not in state and not k.endswith('num_batches_tracked')
            ],
            ignored=[k for k in state if k not in own],
            mismatched=[k for k in state if k in own and k not in fits])
        logger = MMLogger.get_current_instance()
        logger.info(f'ResNetTokenizer: loaded {len(fits)} tensors from '
                    f'{checkpoint}')
        groups = OrderedDict()
        for key in report['ignored']:
            groups[key.split('.')[0]] = groups.get(key.split('.')[0], 0) + 1
        if groups:
            logger.info(f'ResNetTokenizer: ignored {len(report["ignored"])} '
                        'keys not in this backbone: ' +
                        ', '.join(f'{k}.* ({n})' for k, n in groups.items()))
        for kind in ('missing', 'mismatched'):
            if report[kind]:
                logger.warning(
                    f'ResNetTokenizer: {len(report[kind])} {kind} tensors '
                    f'(not loaded from {checkpoint}; mismatched = wrong '
                    'shape): ' + ', '.join(report[kind]))
        return report

    def _freeze_stages(self) -> None:
        """Freeze the parameters and BN statistics of ``frozen_stages``."""
        if self.frozen_stages < 0:
            return
        modules = [self.conv1, self.bn1] + [
            getattr(self, f'layer{i}')
            for i in range(1, self.frozen_stages + 1)
        ]
        for module in modules:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'ResNetTokenizer':
        """Set the mode; frozen stages (and with ``norm_eval`` every BN
        layer) stay in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tokenise every frame.

        Args:
            x (torch.Tensor): Clips of shape ``(B, C, T, H, W)``.

        Returns:
            torch.Tensor: Feature maps of shape ``(B, C_out, T, h, w)``.
        """
        if x.dim() != 5:
            raise ValueError('ResNetTokenizer expects clips of shape '
                             f'(B, C, T, H, W), got {tuple(x.shape)}')
        b, _, t, h, w = x.shape
        # (B, C, T, H, W) -> (B*T, C, H, W)
        frames = kernels.frames(x)
        # BN in training mode normalises by the statistics of all frames, so
        # they go at once; else in chunks sized by the stem's output, a
        # frame's largest tensor.
        if self.training:
            x = self.trunk(frames)
        else:
            stem_elements = self.conv1.out_channels * (h // 2) * (w // 2)
            x = kernels.chunked(self.trunk, frames, stem_elements)
        # (B*T, C', h, w) -> (B, T, C', h, w) -> (B, C', T, h, w)
        return x.reshape(b, t, *x.shape[1:]).transpose(1, 2)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Stem and stages: frames ``(N, C, H, W)`` -> ``(N, C', h, w)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, self.out_stage + 1):
            x = getattr(self, f'layer{i}')(x)
        return x
