# Copyright (c) OpenMMLab. All rights reserved.
"""A task only temporal modelling solves, and a small STT that learns it.

Each base clip shows a blob over noise whose brightness ramps up across
the frames. Class 0 is the clip as generated, class 1 the same frames in
reverse order (fading out), so both classes hold exactly the same frames
and only the order tells them apart. :data:`ORDER_STT` learns it in a few
seconds on CPU, which gives the tests (and the bf16 agreement benchmark) a
*trained* STT without any licensed data.
"""
import copy
from typing import Tuple

import torch
import torch.nn as nn
from mmaction.structures import ActionDataSample
from mmaction.utils import register_all_modules
from mmengine.optim import OptimWrapper

FRAMES, SIZE = 8, 32
#: A small STT (2 blocks, 32 wide) for 8-frame 32x32 clips, 2 classes.
ORDER_STT = dict(
    type='STTRecognizer',
    backbone=dict(type='ResNetTokenizer', out_stage=2, base_channels=8),
    neck=dict(
        type='SpatioTemporalTransformer',
        in_channels=16,
        embed_dims=32,
        num_frames=FRAMES,
        grid_size=(4, 4),
        depth=2,
        num_heads=2,
        drop_path_rate=0.,
        output='cls'),
    cls_head=dict(
        type='STTHead',
        num_classes=2,
        in_channels=32,
        loss_cls=dict(type='CompactSoftmaxLoss')),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        format_shape='NCTHW'))


def make_order_clips(num: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """``num`` fading-in clips and their reversals.

    Args:
        num (int): Base clips (the result holds ``2 * num``).
        seed (int): Seed of the clips.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: uint8 clips of shape
        ``(2*num, 3, FRAMES, SIZE, SIZE)`` and labels ``(2*num,)``
        (0 = as generated, 1 = reversed).
    """
    g = torch.Generator().manual_seed(seed)
    grid = torch.arange(SIZE).float()
    yy, xx = torch.meshgrid(grid, grid, indexing='ij')
    clips = []
    for _ in range(num):
        cy, cx = torch.rand(2, generator=g) * (SIZE - 12) + 6
        sigma = 3 + 3 * torch.rand(1, generator=g)
        blob = torch.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * sigma**2))
        low = 0.1 + 0.2 * torch.rand(1, generator=g)
        high = 0.7 + 0.3 * torch.rand(1, generator=g)
        levels = low + (high - low) * torch.linspace(0, 1, FRAMES)
        noise = 0.25 * torch.rand(3, FRAMES, SIZE, SIZE, generator=g)
        clip = noise + levels.view(1, FRAMES, 1, 1) * blob
        clips.append((clip.clamp(0, 1) * 255).to(torch.uint8))
    clips = torch.stack(clips)
    inputs = torch.cat([clips, clips.flip(2)])
    labels = torch.cat([torch.zeros(num), torch.ones(num)]).long()
    return inputs, labels


def build_order_stt(temporal: bool = True, seed: int = 0) -> nn.Module:
    """Build :data:`ORDER_STT`, optionally without its temporal parts.

    Args:
        temporal (bool): Keep temporal attention and the temporal
            embedding. Defaults to True.
        seed (int): Seed of the initialisation. Defaults to 0.

    Returns:
        nn.Module: The recognizer.
    """
    from mmaction.registry import MODELS
    register_all_modules()
    cfg = copy.deepcopy(ORDER_STT)
    cfg['neck'].update(use_temporal_attn=temporal, use_temporal_embed=temporal)
    torch.manual_seed(seed)
    return MODELS.build(cfg)


@torch.no_grad()
def order_logits(model: nn.Module,
                 inputs: torch.Tensor,
                 bf16: bool = False) -> torch.Tensor:
    """Logits of ``inputs`` in eval mode, fp32 or under bf16 autocast.

    Args:
        model (nn.Module): Recognizer.
        inputs (torch.Tensor): uint8 clips ``(N, 3, T, H, W)``.
        bf16 (bool): Run under CPU bf16 autocast. Defaults to False.

    Returns:
        torch.Tensor: float32 logits ``(N, num_classes)``.
    """
    model.eval()
    data = model.data_preprocessor(
        dict(
            inputs=[clip[None] for clip in inputs],
            data_samples=[ActionDataSample() for _ in inputs]))
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
        return model(data['inputs'], mode='tensor').float()


def train_order_stt(model: nn.Module,
                    inputs: torch.Tensor,
                    labels: torch.Tensor,
                    max_epochs: int,
                    target: float = 0.95) -> float:
    """Train with AdamW through ``train_step``, batch 32, in fp32.

    Args:
        model (nn.Module): Recognizer (trained in place).
        inputs (torch.Tensor): uint8 clips ``(N, 3, T, H, W)``.
        labels (torch.Tensor): Labels ``(N, )``.
        max_epochs (int): Epoch limit.
        target (float): Stop after the first epoch whose training accuracy
            reaches it. Defaults to 0.95.

    Returns:
        float: Training accuracy after the last epoch.
    """
    optim = OptimWrapper(
        torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4))
    g = torch.Generator().manual_seed(1)
    acc = 0.
    for _ in range(max_epochs):
        model.train()
        order = torch.randperm(len(labels), generator=g)
        for start in range(0, len(order), 32):
            idx = order[start:start + 32]
            batch = dict(
                inputs=[inputs[i][None] for i in idx],
                data_samples=[
                    ActionDataSample().set_gt_label(labels[i]) for i in idx
                ])
            model.train_step(batch, optim)
        acc = (order_logits(model, inputs).argmax(1) == labels).float().mean()
        if acc >= target:
            break
    return float(acc)
