# Copyright (c) OpenMMLab. All rights reserved.
"""STT models time: clips whose class is only their frame order.

Each base clip shows a blob over noise whose brightness ramps up across
the frames. Class 0 is the clip as generated, class 1 the same frames in
reverse order (fading out), so both classes hold exactly the same frames
and only the order tells them apart. A small STT learns this on CPU; the
same model without temporal attention and temporal embedding sees the two
clips of a pair as identical and stays at chance.
"""
import copy
from typing import Tuple

import pytest
import torch
from mmaction.structures import ActionDataSample
from mmaction.utils import register_all_modules
from mmengine.optim import OptimWrapper

import mmstt  # noqa: F401

FRAMES, SIZE = 8, 32
MODEL = dict(
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


def _build(temporal: bool, seed: int = 0):
    from mmaction.registry import MODELS
    register_all_modules()
    cfg = copy.deepcopy(MODEL)
    cfg['neck'].update(use_temporal_attn=temporal, use_temporal_embed=temporal)
    torch.manual_seed(seed)
    return MODELS.build(cfg)


@torch.no_grad()
def _logits(model, inputs: torch.Tensor, bf16: bool = False) -> torch.Tensor:
    model.eval()
    data = model.data_preprocessor(
        dict(
            inputs=[clip[None] for clip in inputs],
            data_samples=[ActionDataSample() for _ in inputs]))
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
        return model(data['inputs'], mode='tensor').float()


def _train(model, inputs, labels, max_epochs: int, target: float = 0.95):
    """AdamW through ``train_step``; stop early at ``target`` accuracy."""
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
        acc = (_logits(model, inputs).argmax(1) == labels).float().mean()
        if acc >= target:
            break
    return float(acc)


@pytest.fixture(scope='module')
def order_data():
    return make_order_clips(64, seed=0)


@pytest.fixture(scope='module')
def trained_stt(order_data):
    inputs, labels = order_data
    model = _build(temporal=True)
    acc = _train(model, inputs, labels, max_epochs=40)
    return model, acc


@pytest.mark.slow
def test_stt_learns_frame_order(trained_stt):
    _, acc = trained_stt
    assert acc >= 0.9, f'train accuracy {acc:.3f}'


@pytest.mark.slow
def test_without_temporal_parts_stays_at_chance(order_data):
    inputs, labels = order_data
    model = _build(temporal=False)
    acc = _train(model, inputs, labels, max_epochs=15)
    assert acc <= 0.6, f'train accuracy {acc:.3f}'
    # The two clips of a pair are indistinguishable to it.
    logits = _logits(model, inputs)
    assert torch.allclose(logits[:64], logits[64:], atol=1e-4)


@pytest.mark.slow
def test_bf16_autocast_agrees_with_fp32(trained_stt):
    model, _ = trained_stt
    inputs, labels = make_order_clips(150, seed=7)
    fp32 = _logits(model, inputs)
    bf16 = _logits(model, inputs, bf16=True)
    agree = (fp32.argmax(1) == bf16.argmax(1)).float().mean().item()
    assert agree >= 0.99, f'top-1 agreement {agree:.4f}'
    # It generalises to new clips, too (not needed for the agreement).
    assert (fp32.argmax(1) == labels).float().mean() > 0.8
