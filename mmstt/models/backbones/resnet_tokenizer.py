# Copyright (c) OpenMMLab. All rights reserved.
"""Per-frame ResNet trunk that turns a clip into grids of tokens."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader
from torch.nn.modules.batchnorm import _BatchNorm

from .basic_block import BasicBlock
from .conv_bn import conv_bn
from .max_pool import stem_max_pool
from .pretrained import select_backbone_weights, unwrap_state_dict


@MODELS.register_module()
class ResNetTokenizer(BaseModule):
    """ResNet-18/34 applied to every frame, cut after a chosen stage.

    ``(B, 3, T, H, W)`` is folded to ``(B*T, 3, H, W)``, passed through the
    stem (``conv1``, ``bn1``, ReLU, max-pool) and ``layer1`` ...
    ``layer{out_stage}``, and unfolded to ``(B, C_out, T, h, w)`` with
    ``h, w = H / 2**(out_stage+1), W / 2**(out_stage+1)``: at 112x112 and
    ``out_stage=3`` that is ``(B, 256, T, 7, 7)``, 49 tokens per frame.
    Stages after ``out_stage`` are not built.

    Parameter names follow torchvision's ResNet (``conv1.weight``,
    ``bn1.*``, ``layer1.0.conv1.weight``, ``layer2.0.downsample.0.weight``
    ...), so torchvision-layout checkpoints (such as the MS-Celeb-1M face
    ResNet-18 releases) load directly through
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)``. Accepted files:
    a bare state dict, one wrapped as ``{'state_dict': ...}``, keys prefixed
    ``module.``, and mmengine checkpoints of a whole recognizer (the
    ``backbone.`` sub-dict is found automatically, or set ``prefix`` in the
    ``init_cfg``). Keys this backbone lacks (``fc.*``, later stages) are
    ignored and listed in the log; backbone parameters missing from the
    file, and tensors of the wrong shape, are logged as warnings. Files
    are read by mmengine's ``CheckpointLoader``, which ``mmstt`` has set to
    torch's safe (weights-only) loader.

    Args:
        depth (int): 18 or 34. Defaults to 18.
        out_stage (int): Last stage built and output, 1..4. Defaults to 3.
        in_channels (int): Input image channels. Defaults to 3.
        base_channels (int): Width of the stem and ``layer1``; each later
            stage doubles it. Pretrained torchvision weights need 64.
            Defaults to 64.
        frozen_stages (int): Stages whose parameters are frozen and whose
            BN layers stay in eval mode: -1 none, 0 the stem, ``i`` the stem
            and ``layer1..layer{i}``. Defaults to -1.
        norm_eval (bool): Keep every BN layer in eval mode (running
            statistics frozen) during training. Defaults to False.
        channels_last (bool): Keep weights and activations in channels-last
            memory format. On CPU (oneDNN) this is 1.4x (fp32) to 1.8x
            (bf16) faster than channels-first, and the output is then
            already in the ``(B, T, h, w, C)`` memory order the neck's token
            projection reads, so no transpose copy is needed. The output
            shape is the same either way. Defaults to True.
        init_cfg (dict or list[dict], optional): Initialisation config, e.g.
            ``dict(type='Pretrained', checkpoint=PATH)``. When None, convs
            are Kaiming-normal and BN layers ones/zeros. Defaults to None.
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3))
    }

    def __init__(self,
                 depth: int = 18,
                 out_stage: int = 3,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 channels_last: bool = True,
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
        self.channels_last = channels_last
        block, stage_blocks = self.arch_settings[depth]

        self.conv1 = nn.Conv2d(
            in_channels, base_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = base_channels
        for i in range(out_stage):
            out_channels = base_channels * 2**i
            stride = 1 if i == 0 else 2
            layers = []
            for j in range(stage_blocks[i]):
                downsample = None
                if j == 0 and (stride != 1 or channels != out_channels):
                    downsample = nn.Sequential(
                        nn.Conv2d(
                            channels,
                            out_channels,
                            1,
                            stride=stride,
                            bias=False), nn.BatchNorm2d(out_channels))
                layers.append(
                    block(channels, out_channels, stride if j == 0 else 1,
                          downsample))
                channels = out_channels
            self.add_module(f'layer{i + 1}', nn.Sequential(*layers))
        self.out_channels = channels
        if channels_last:
            self.to(memory_format=torch.channels_last)
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

    def _pretrained_cfg(self) -> Optional[dict]:
        """The ``Pretrained`` entry of ``init_cfg``, if there is one."""
        cfgs = self.init_cfg
        if isinstance(cfgs, dict):
            cfgs = [cfgs]
        for cfg in cfgs or []:
            if cfg.get('type') == 'Pretrained':
                return cfg
        return None

    def init_weights(self) -> None:
        """Initialise: default scheme, then pretrained weights if set."""
        pretrained = self._pretrained_cfg()
        if pretrained is None:
            if self.init_cfg:
                super().init_weights()
            else:
                self._default_init()
        else:
            self._default_init()
            self.load_pretrained(
                pretrained['checkpoint'],
                prefix=pretrained.get('prefix'),
                map_location=pretrained.get('map_location', 'cpu'))
            self._is_init = True
        self._freeze_stages()

    def load_pretrained(self,
                        checkpoint: str,
                        prefix: Optional[str] = None,
                        map_location: str = 'cpu') -> Dict[str, List[str]]:
        """Load backbone weights from a checkpoint file.

        Args:
            checkpoint (str): Path or URL of the checkpoint.
            prefix (str, optional): Prefix of the backbone weights in the
                file (e.g. ``'backbone.'``); detected when None. Defaults to
                None.
            map_location (str): Device to map the tensors to. Defaults to
                ``'cpu'``.

        Returns:
            dict[str, list[str]]: ``loaded``, ``missing`` (backbone keys not
            in the file), ``ignored`` (file keys the backbone lacks) and
            ``mismatched`` (same name, different shape) parameter names.

        Raises:
            ValueError: If no tensor of the file fits the backbone.
        """
        logger = MMLogger.get_current_instance()
        raw = CheckpointLoader.load_checkpoint(
            checkpoint, map_location=map_location)
        own = self.state_dict()
        state = select_backbone_weights(
            unwrap_state_dict(raw), own.keys(), prefix=prefix)
        loaded, mismatched = [], []
        to_load = {}
        for key, value in state.items():
            if key not in own:
                continue
            if value.shape != own[key].shape:
                mismatched.append(key)
                continue
            to_load[key] = value
            loaded.append(key)
        if not loaded:
            raise ValueError(
                f'no weights in {checkpoint} fit ResNetTokenizer(depth='
                f'{self.depth}, out_stage={self.out_stage}); expected keys '
                'such as conv1.weight or layer1.0.conv1.weight (optionally '
                'under module. or backbone.)')
        self.load_state_dict(to_load, strict=False)
        missing = [
            k for k in own
            if k not in to_load and not k.endswith('num_batches_tracked')
        ]
        ignored = [k for k in state if k not in own]
        logger.info(f'ResNetTokenizer: loaded {len(loaded)} tensors from '
                    f'{checkpoint}')
        if ignored:
            logger.info(f'ResNetTokenizer: ignored {len(ignored)} keys not '
                        f'in this backbone: {_group(ignored)}')
        if missing:
            logger.warning(f'ResNetTokenizer: {len(missing)} parameters not '
                           f'in {checkpoint}, left at their initial values: '
                           f'{_summarise(missing)}')
        if mismatched:
            logger.warning(
                f'ResNetTokenizer: {len(mismatched)} tensors of '
                f'{checkpoint} have the wrong shape and were skipped: '
                f'{_summarise(mismatched)}')
        return dict(
            loaded=loaded,
            missing=missing,
            ignored=ignored,
            mismatched=mismatched)

    def _freeze_stages(self) -> None:
        """Freeze the parameters and BN statistics of ``frozen_stages``."""
        if self.frozen_stages < 0:
            return
        modules = [self.conv1, self.bn1]
        modules += [
            getattr(self, f'layer{i}')
            for i in range(1, self.frozen_stages + 1)
        ]
        for module in modules:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'ResNetTokenizer':
        """Set training mode, keeping frozen stages and (if ``norm_eval``)
        every BN layer in eval mode.

        Args:
            mode (bool): Training mode. Defaults to True.

        Returns:
            ResNetTokenizer: ``self``.
        """
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
            torch.Tensor: Feature maps of shape ``(B, C_out, T, h, w)``
            (a permuted view of ``(B*T, C_out, h, w)``).
        """
        if x.dim() != 5:
            raise ValueError('ResNetTokenizer expects clips of shape '
                             f'(B, C, T, H, W), got {tuple(x.shape)}')
        b, c, t, h, w = x.shape
        if self.channels_last:
            # (B, C, T, H, W) -> (B*T, H, W, C) in one copy, seen as a
            # channels-last (B*T, C, H, W).
            frames = x.permute(0, 2, 3, 4, 1).reshape(b * t, h, w,
                                                      c).permute(0, 3, 1, 2)
        else:
            # (B, C, T, H, W) -> (B, T, C, H, W) -> (B*T, C, H, W)
            frames = x.transpose(1, 2).reshape(b * t, c, h, w)
        out = self.relu(conv_bn(frames, self.conv1, self.bn1))
        out = stem_max_pool(out, self.maxpool)
        for i in range(1, self.out_stage + 1):
            out = getattr(self, f'layer{i}')(out)
        _, c_out, h_out, w_out = out.shape
        # (B*T, C', h, w) -> (B, T, C', h, w) -> (B, C', T, h, w)
        return out.reshape(b, t, c_out, h_out, w_out).transpose(1, 2)


def _group(keys: List[str]) -> str:
    """Count keys per top-level module, e.g. ``layer4.* (30), fc.* (2)``."""
    counts: Dict[str, int] = {}
    for key in keys:
        head = key.split('.', 1)[0]
        counts[head] = counts.get(head, 0) + 1
    return ', '.join(f'{head}.* ({n})' for head, n in counts.items())


def _summarise(keys: List[str], limit: int = 8) -> str:
    """Show at most ``limit`` key names, then how many more there are."""
    shown = ', '.join(keys[:limit])
    more = len(keys) - limit
    return shown + (f' ... (+{more} more)' if more > 0 else '')
