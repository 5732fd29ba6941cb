# Copyright (c) OpenMMLab. All rights reserved.
"""FLOP counts of STT, analytic and dispatcher-counted.

Convention: one multiply-add = 2 FLOPs; only convolutions, linear layers
and the two attention products (``q k^T`` and ``attn v``) are counted.
Norms, activations, softmax, pooling and residual adds are left out (they
are memory-bound and a few percent of the total), which is also what
``torch.utils.flop_counter`` and matmul-peak comparisons assume.

The analytic count follows the architecture of the spec (ResNet-18
tokenizer cut after a stage, 1x1 embedding, factorised blocks, linear
head). :func:`counted_flops` cross-checks it with
``torch.utils.flop_counter.FlopCounterMode``, which counts the FLOPs of the
convolution/matmul/SDPA kernels that actually run.
"""
from typing import Callable, Dict, Optional, Tuple

from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

__all__ = [
    'conv_flops', 'resnet_tokenizer_flops', 'factorised_neck_flops',
    'stt_flops', 'counted_flops'
]


def conv_flops(c_in: int, c_out: int, kernel: int, h_out: int,
               w_out: int) -> int:
    """FLOPs of one 2D convolution (no groups), bias ignored.

    Args:
        c_in (int): Input channels.
        c_out (int): Output channels.
        kernel (int): Square kernel size.
        h_out (int): Output height.
        w_out (int): Output width.

    Returns:
        int: 2 * c_in * k * k * c_out * h_out * w_out.
    """
    return 2 * c_in * kernel * kernel * c_out * h_out * w_out


def _out(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a convolution or pooling along one axis."""
    return (size + 2 * pad - kernel) // stride + 1


def resnet_tokenizer_flops(
    height: int,
    width: int,
    out_stage: int = 3,
    blocks: Tuple[int, ...] = (2, 2, 2, 2),
    widths: Tuple[int, ...] = (64, 128, 256, 512)
) -> Tuple[int, Tuple[int, int]]:
    """FLOPs of a BasicBlock ResNet on one frame, cut after ``out_stage``.

    Args:
        height (int): Frame height.
        width (int): Frame width.
        out_stage (int): Last stage built (1-4).
        blocks (tuple[int]): BasicBlocks per stage (ResNet-18: 2,2,2,2).
        widths (tuple[int]): Channels per stage.

    Returns:
        tuple: (FLOPs per frame, (h, w) of the output grid).
    """
    h, w = _out(height, 7, 2, 3), _out(width, 7, 2, 3)
    total = conv_flops(3, 64, 7, h, w)
    h, w = _out(h, 3, 2, 1), _out(w, 3, 2, 1)  # max pool
    c_in = 64
    for stage in range(out_stage):
        c = widths[stage]
        for i in range(blocks[stage]):
            stride = 2 if (i == 0 and stage > 0) else 1
            ho, wo = _out(h, 3, stride, 1), _out(w, 3, stride, 1)
            total += conv_flops(c_in, c, 3, ho, wo)
            total += conv_flops(c, c, 3, ho, wo)
            if stride != 1 or c_in != c:
                total += conv_flops(c_in, c, 1, ho, wo)
            h, w, c_in = ho, wo, c
    return total, (h, w)


def factorised_neck_flops(batch: int,
                          frames: int,
                          grid: Tuple[int, int],
                          in_channels: int = 256,
                          dims: int = 512,
                          depth: int = 4,
                          mlp_ratio: float = 4.0,
                          spatial_extra: int = 0,
                          temporal_extra: int = 0,
                          mlp_extra: Optional[int] = None,
                          temporal_fc: bool = False) -> Dict[str, int]:
    """FLOPs of a factorised (spatial, temporal, MLP) transformer neck.

    Args:
        batch (int): Clips B.
        frames (int): Frames T.
        grid (tuple[int, int]): Token grid (h, w); S = h * w.
        in_channels (int): Channels embedded to ``dims``.
        dims (int): Token width D.
        depth (int): Blocks.
        mlp_ratio (float): MLP hidden width / D.
        spatial_extra (int): Extra tokens per spatial sequence (1 when a
            class token joins every frame's spatial attention).
        temporal_extra (int): Extra temporal sequences per clip (1 when the
            per-frame class tokens also attend over time).
        mlp_extra (int, optional): Extra tokens per clip through the MLP;
            defaults to ``frames * spatial_extra`` (a class token per
            frame); MMAction2's TimeSformer layout has 1.
        temporal_fc (bool): Count MMAction2's extra ``temporal_fc`` (D x D
            linear after temporal attention).

    Returns:
        dict[str, int]: ``projections`` (embedding, q/k/v/out, MLP and
        ``temporal_fc`` linear layers), ``attention`` (the ``q k^T`` and
        ``attn v`` products) and ``total``, for one forward pass.
    """
    s = grid[0] * grid[1]
    if mlp_extra is None:
        mlp_extra = frames * spatial_extra
    tokens = batch * frames * s
    spatial_tokens = batch * frames * (s + spatial_extra)
    temporal_tokens = batch * (s + temporal_extra) * frames
    mlp_tokens = tokens + batch * mlp_extra
    hidden = int(dims * mlp_ratio)
    proj = 2 * tokens * in_channels * dims  # embedding
    attn = 0
    for _ in range(depth):
        # Spatial and temporal: q, k, v, out projections.
        proj += 2 * (spatial_tokens + temporal_tokens) * 4 * dims * dims
        # Attention products, 2 per sequence.
        attn += 2 * 2 * batch * frames * (s + spatial_extra)**2 * dims
        attn += 2 * 2 * batch * (s + temporal_extra) * frames**2 * dims
        if temporal_fc:
            proj += 2 * tokens * dims * dims
        proj += 2 * 2 * mlp_tokens * dims * hidden
    return dict(projections=proj, attention=attn, total=proj + attn)


def stt_flops(batch: int,
              frames: int,
              height: int,
              width: int,
              out_stage: int = 3,
              in_channels: int = 256,
              dims: int = 512,
              depth: int = 4,
              num_classes: int = 7,
              spatial_extra: int = 0,
              temporal_extra: int = 0) -> Dict[str, int]:
    """Analytic FLOPs of the whole STT forward pass.

    Args:
        batch (int): Clips.
        frames (int): Frames per clip.
        height (int): Frame height.
        width (int): Frame width.
        out_stage (int): ResNet stage the tokenizer stops after.
        in_channels (int): Tokenizer output channels.
        dims (int): Token width.
        depth (int): Neck blocks.
        num_classes (int): Head outputs.
        spatial_extra (int): See :func:`factorised_neck_flops`.
        temporal_extra (int): See :func:`factorised_neck_flops`.

    Returns:
        dict[str, int]: ``backbone``, ``neck`` (of which
        ``neck_attention_products``), ``head`` and ``total``.
    """
    per_frame, grid = resnet_tokenizer_flops(height, width, out_stage)
    backbone = batch * frames * per_frame
    neck = factorised_neck_flops(batch, frames, grid, in_channels, dims, depth,
                                 4.0, spatial_extra, temporal_extra)
    head = 2 * batch * dims * num_classes
    return dict(
        backbone=backbone,
        neck=neck['total'],
        neck_attention_products=neck['attention'],
        head=head,
        total=backbone + neck['total'] + head)


def counted_flops(fn: Callable[[], object]) -> int:
    """Count the FLOPs the dispatcher sees while ``fn`` runs.

    SDPA is forced to its math backend while counting: ``FlopCounterMode``
    has no formula for the CPU flash kernel and would miss the attention
    products; the math backend spells them as matmuls, which it counts.

    Args:
        fn (Callable): Work to count (run once, forward only is typical).

    Returns:
        int: Total FLOPs reported by ``FlopCounterMode``.
    """
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        fn()
    return int(counter.get_total_flops())
