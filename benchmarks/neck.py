# Copyright (c) OpenMMLab. All rights reserved.
"""Section: STT's neck against MMAction2's divided space-time attention.

The peer is a stack of MMAction2's ``DividedTemporalAttentionWithNorm``,
``DividedSpatialAttentionWithNorm`` and ``FFNWithNorm`` (the TimeSformer
block) with the same thin parts around it as STT's neck (linear token
embedding, spatial and temporal position embeddings, a class token, a
final LayerNorm): (B, C, T, h, w) -> (B, D) like STT's. Both get equal
width, tokens, heads, depth, MLP width, per-block stochastic depth and
precision. Forward runs in eval mode without autograd; forward+backward
runs in train mode with a scalar loss, and, as in training (the backbone
needs it), both compute the gradient of their input.
"""
from typing import Callable, Dict, List, Sequence

import torch
import torch.nn as nn
from mmaction.models.common import (DividedSpatialAttentionWithNorm,
                                    DividedTemporalAttentionWithNorm,
                                    FFNWithNorm)

from mmstt.utils.flops import count_flops
from .common import (PRECISIONS, autocast, forward_step, ratio, round_ratios,
                     time_interleaved)

__all__ = [
    'MMActionDividedNeck', 'drop_path_rates', 'reference_like', 'run', 'rows',
    'targets'
]

MODES = ('forward', 'forward_backward')


class MMActionDividedNeck(nn.Module):
    """TimeSformer's divided attention from MMAction2 parts, as a neck.

    Tokens are laid out as MMAction2 has them: (B, 1 + P * T, D), class
    token first, patches position-major and frame-minor.

    Args:
        in_channels (int): Channels C of the input feature map.
        embed_dims (int): Token width D.
        num_frames (int): Frames T.
        num_patches (int): Tokens per frame P = h * w.
        num_heads (int): Attention heads.
        mlp_ratio (float): FFN hidden width over ``embed_dims``.
        drop_path_rates (Sequence[float]): Stochastic depth of each block;
            its length is the depth.
    """

    def __init__(self, in_channels: int, embed_dims: int, num_frames: int,
                 num_patches: int, num_heads: int, mlp_ratio: float,
                 drop_path_rates: Sequence[float]) -> None:
        super().__init__()
        self.embed = nn.Linear(in_channels, embed_dims)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_patches, 1, embed_dims))
        self.time_embed = nn.Parameter(
            torch.zeros(1, 1, num_frames, embed_dims))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        for param in (self.pos_embed, self.time_embed, self.cls_token):
            nn.init.trunc_normal_(param, std=0.02)
        layers: List[nn.Module] = []
        for rate in drop_path_rates:
            drop = dict(type='DropPath', drop_prob=float(rate))
            attn = dict(
                embed_dims=embed_dims,
                num_heads=num_heads,
                num_frames=num_frames,
                dropout_layer=drop,
                batch_first=False)
            layers += [
                DividedTemporalAttentionWithNorm(**attn),
                DividedSpatialAttentionWithNorm(**attn),
                FFNWithNorm(
                    embed_dims=embed_dims,
                    feedforward_channels=int(embed_dims * mlp_ratio),
                    act_cfg=dict(type='GELU'),
                    dropout_layer=drop)
            ]
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(embed_dims, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed the feature map, run the blocks, return the class token.

        Args:
            x (torch.Tensor): (B, C, T, h, w) feature map.

        Returns:
            torch.Tensor: (B, D) clip features.
        """
        b, _, t, h, w = x.shape
        # (B, C, T, h, w) -> (B, h*w, T, C) -> (B, h*w, T, D)
        tokens = self.embed(x.flatten(3).permute(0, 3, 2, 1))
        tokens = (tokens + self.pos_embed + self.time_embed).flatten(1, 2)
        tokens = torch.cat((self.cls_token.expand(b, -1, -1), tokens), 1)
        for layer in self.layers:
            tokens = layer(tokens)
        return self.norm(tokens[:, 0])


def drop_path_rates(neck: nn.Module) -> List[float]:
    """The stochastic-depth rate of each block of STT's neck.

    Args:
        neck (nn.Module): The neck; each of its ``blocks`` has
            ``drop_path``, a ``DropPath`` module or a float.

    Returns:
        list[float]: One rate per block.
    """
    rates = []
    for i, block in enumerate(neck.blocks):
        rate = getattr(block, 'drop_path', None)
        rate = getattr(rate, 'drop_prob', rate)
        if not isinstance(rate, (int, float)):
            raise AttributeError(f'block {i} of the neck has no '
                                 'stochastic-depth rate to copy')
        rates.append(float(rate))
    return rates


def reference_like(neck: nn.Module, neck_cfg: dict) -> MMActionDividedNeck:
    """MMAction2's divided attention with the sizes of STT's neck.

    Args:
        neck (nn.Module): STT's neck (stochastic depth is read from it).
        neck_cfg (dict): Its config (sizes).

    Returns:
        MMActionDividedNeck: The peer, in eval mode.
    """
    h, w = neck_cfg['grid_size']
    dims = neck_cfg['embed_dims']
    return MMActionDividedNeck(
        in_channels=neck_cfg['in_channels'],
        embed_dims=dims,
        num_frames=neck_cfg['num_frames'],
        num_patches=h * w,
        num_heads=neck_cfg.get('num_heads', 8),
        mlp_ratio=neck_cfg.get('mlp_ratio', 4.0),
        drop_path_rates=drop_path_rates(neck)).eval()


def _forward_backward(module: nn.Module, x: torch.Tensor,
                      precision: str) -> Callable[[], None]:
    """Training forward and backward, with the input's gradient."""
    x = x.detach().requires_grad_(True)

    def step() -> None:
        module.train()
        module.zero_grad(set_to_none=True)
        x.grad = None
        with autocast(precision):
            out = module(x)
        out.float().square().mean().backward()

    return step


def _precisions(settings: dict) -> List[str]:
    """The precisions to time, from the ``neck_precisions`` setting."""
    chosen = settings['neck_precisions']
    chosen = [chosen] if isinstance(chosen, str) else list(chosen)
    unknown = [p for p in chosen if p not in PRECISIONS]
    if unknown or not chosen:
        raise ValueError(f'neck_precisions must be a non-empty subset of '
                         f'{list(PRECISIONS)}, got {chosen}')
    return [p for p in PRECISIONS if p in chosen]


def run(bench) -> Dict[str, object]:
    """Time STT's neck and MMAction2's side by side.

    Returns:
        dict: Per precision timed (the ``neck_precisions`` setting) and
        mode the ``timings`` of ``stt`` (the default kernels),
        ``stt_reference`` (``kernel='reference'``) and ``mmaction``,
        ``speedup`` (MMAction2's median time over each STT candidate's)
        and ``round_speedups`` (the same ratio in each round); ``flops``
        per mode and candidate (counted in fp32) and ``flop_ratio``
        (MMAction2's over STT's).
    """
    s, cfg = bench.settings, bench.model_cfg['neck']
    precisions = _precisions(s)
    torch.manual_seed(0)
    neck = bench.model.neck
    candidates = dict(
        stt=neck,
        mmaction=reference_like(neck, cfg),
        stt_reference=bench.reference.neck)
    shape = (s['neck_batch'], cfg['in_channels'], cfg['num_frames'],
             *cfg['grid_size'])
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        shapes = {k: tuple(m.eval()(x).shape) for k, m in candidates.items()}
    if len(set(shapes.values())) != 1:
        raise RuntimeError(f'neck output shapes differ: {shapes}')
    makers = dict(forward=forward_step, forward_backward=_forward_backward)
    flops = {
        mode: {
            k: count_flops(make(m, x, 'fp32'))['total']
            for k, m in candidates.items()
        }
        for mode, make in makers.items()
    }
    out: Dict[str, object] = dict(
        batch=s['neck_batch'],
        input_shape=list(x.shape),
        input_grad=True,
        drop_path_rates=drop_path_rates(neck),
        flops=flops,
        flop_ratio={
            m: f['mmaction'] / f['stt']
            for m, f in flops.items()
        })
    for p in precisions:
        for mode, make in makers.items():
            fns = {k: make(m, x, p) for k, m in candidates.items()}
            timings = time_interleaved(fns, s['neck_warmup'],
                                       s['neck_repeats'])
            out.setdefault(p, {})[mode] = dict(
                timings=timings,
                speedup={
                    k: ratio(timings, 'mmaction', k)
                    for k in candidates if k != 'mmaction'
                },
                round_speedups={
                    k: round_ratios(timings, 'mmaction', k)
                    for k in candidates if k != 'mmaction'
                })
    for m in candidates.values():
        m.eval()
    return out


def _timed(neck: dict) -> List[str]:
    """The precisions a neck result holds, in :data:`PRECISIONS` order."""
    return [p for p in PRECISIONS if p in neck]


def rows(results: dict) -> List[List[str]]:
    """Table rows of this section."""
    neck = results['neck']
    timed = _timed(neck)
    out = []
    for mode in MODES:
        cells = []
        for p in PRECISIONS:
            if p not in timed:
                cells.append('-')
                continue
            t = neck[p][mode]['timings']
            cpu = t['mmaction']['median_cpu_s'] / t['stt']['median_cpu_s']
            rounds = neck[p][mode]['round_speedups']['stt']
            cells.append(f"{1e3 * t['stt']['median_s']:.0f} vs "
                         f"{1e3 * t['mmaction']['median_s']:.0f} ms = "
                         f"{neck[p][mode]['speedup']['stt']:.2f}x "
                         f'(rounds {min(rounds):.2f}-{max(rounds):.2f}x, '
                         f'CPU time {cpu:.2f}x)')
        note = (f'MMAction2 time / STT time (target >= 1.5x); MMAction2 '
                f"does {neck['flop_ratio'][mode]:.2f}x STT's FLOPs")
        note += "; kernel='reference' " + ' / '.join(
            f"{p} {neck[p][mode]['speedup']['stt_reference']:.2f}x"
            for p in timed)
        out.append([
            f"neck vs MMAction2, {mode.replace('_', '+')} "
            f"(batch {neck['batch']})", *cells, note
        ])
    return out


def targets(results: dict) -> Dict[str, Dict[str, object]]:
    """The neck must run at least 1.5x MMAction2's divided attention."""
    neck = results['neck']
    return {
        f'neck_{mode}_{p}':
        dict(
            value=neck[p][mode]['speedup']['stt'],
            target=1.5,
            what=f"STT neck / MMAction2 divided attention, "
            f"{mode.replace('_', '+')}, {p} (x)")
        for p in _timed(neck)
        for mode in MODES
    }
