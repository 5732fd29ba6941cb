# Copyright (c) OpenMMLab. All rights reserved.
"""Optional ablations (``--diagnose``): which setting changes speed, by how
much.

Each ablation builds the product's own modules with one setting changed
(``ResNetTokenizer(channels_last=...)``, the MLPs' ``gelu_approximate``,
the SDPA backend, the neck's ``linear_impl``/``attn_impl`` kernel choices,
``torch.compile``, BN folding, the stem max-pool, the bf16 softmax, the
chunk budget, the thread count) and times the
variants side by side. Ratios are ``baseline time / variant time``: above
1 the variant is faster; the kernel ablation instead reports the default's
speedup over each variant. Nothing here changes a default; the figures are
the evidence for the defaults and recommendations in docs/benchmarks.md.
"""
import contextlib
import copy
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from unittest import mock

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from mmstt.models.backbones import basic_block, resnet_tokenizer
from mmstt.models.necks import (FactorizedAttention, TokenLinear,
                                factorized_attention,
                                spatio_temporal_transformer)
from .bench_neck import forward_backward_fn, forward_fn, reference_like
from .model_factory import load_model_cfg, neck_input
from .precision import PRECISIONS, autocast_ctx
from .timing import time_interleaved

__all__ = ['run_ablations']


def _with_backend(fn: Callable[[], object],
                  backend: SDPBackend) -> Callable[[], object]:
    """Wrap ``fn`` so that SDPA may only use ``backend``."""

    def run() -> object:
        with sdpa_kernel(backend):
            return fn()

    return run


def _with_threads(fn: Callable[[], object],
                  threads: int) -> Callable[[], object]:
    """Wrap ``fn`` so that it runs with ``threads`` torch threads."""

    def run() -> object:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return fn()
        finally:
            torch.set_num_threads(before)

    return run


def _unfolded_conv_bn(x: torch.Tensor, conv: nn.Module,
                      bn: nn.Module) -> torch.Tensor:
    """``bn(conv(x))`` as two passes (the tokenizer before BN folding)."""
    return bn(conv(x))


def _plain_max_pool(x: torch.Tensor, pool: nn.Module) -> torch.Tensor:
    """The stem pooling module itself, in every precision."""
    return pool(x)


def _token_budget(tokens: int, x: torch.Tensor) -> int:
    """Chunk budget in tokens whatever the precision."""
    return tokens


def _bf16_softmax_attention(q: torch.Tensor,
                            k: torch.Tensor,
                            v: torch.Tensor,
                            dropout_p: float = 0.) -> torch.Tensor:
    """Matmul attention with the softmax in the inputs' precision."""
    scores = torch.matmul(q, k.transpose(-2, -1)).mul_(q.shape[-1]**-0.5)
    weights = scores.softmax(dim=-1)
    if dropout_p > 0:
        weights = F.dropout(weights, p=dropout_p)
    return torch.matmul(weights, v)


#: Each switch of ablation 7 and the patches that turn it off.
_PREVIOUS: Dict[str, List[Tuple[object, str, object]]] = dict(
    unfolded_bn=[(basic_block, 'conv_bn', _unfolded_conv_bn),
                 (resnet_tokenizer, 'conv_bn', _unfolded_conv_bn)],
    plain_max_pool=[(resnet_tokenizer, 'stem_max_pool', _plain_max_pool)],
    bf16_softmax=[(factorized_attention, 'matmul_attention',
                   _bf16_softmax_attention)],
    token_budget=[(spatio_temporal_transformer, 'chunk_budget', _token_budget)
                  ])


def _with_patches(
        fn: Callable[[], object],
        patches: List[Tuple[object, str, object]]) -> Callable[[], object]:
    """Wrap ``fn`` so that it runs with module attributes replaced."""

    def run() -> object:
        with contextlib.ExitStack() as stack:
            for module, name, value in patches:
                stack.enter_context(mock.patch.object(module, name, value))
            return fn()

    return run


def _default_speedup(
        timings: Dict[str, dict],
        names: Sequence[str],
        precisions: Sequence[str] = PRECISIONS) -> Dict[str, float]:
    """The default's speed-up over each variant, per precision.

    Args:
        timings (dict): :func:`time_interleaved` output with keys
            ``'<name>/<precision>'``, ``'default/<precision>'`` among them.
        names (Sequence[str]): Variants to compare with the default.
        precisions (Sequence[str]): Precisions timed.

    Returns:
        dict: ``'over_<name>/<precision>'`` -> variant time / default time
        (above 1: the default is faster).
    """
    return {
        f'over_{name}/{p}':
        timings[f'{name}/{p}']['median_s'] /
        timings[f'default/{p}']['median_s']
        for p in precisions
        for name in names
    }


def _with_kernels(neck: nn.Module,
                  linear_impl: Optional[str] = None,
                  attn_impl: Optional[str] = None) -> nn.Module:
    """A copy of ``neck`` (same weights) with other kernel choices.

    Args:
        neck (nn.Module): STT's neck.
        linear_impl (str, optional): ``impl`` for every ``TokenLinear``.
        attn_impl (str, optional): ``attn_impl`` for every attention.

    Returns:
        nn.Module: The modified copy.
    """
    variant = copy.deepcopy(neck)
    for module in variant.modules():
        if linear_impl and isinstance(module, TokenLinear):
            module.impl = linear_impl
        if attn_impl and isinstance(module, FactorizedAttention):
            module.attn_impl = attn_impl
    return variant


def _compiled(neck: nn.Module, reference: nn.Module, feats: torch.Tensor,
              device: torch.device, warmup: int,
              repeats: int) -> Dict[str, object]:
    """Eager vs ``torch.compile``-d neck vs MMAction2, bf16 fwd+bwd."""
    compiled = torch.compile(copy.deepcopy(neck))
    start = time.perf_counter()
    try:
        forward_backward_fn(compiled, feats, device, 'bf16')()
    except Exception as err:  # no C++ compiler, unsupported op ...
        return dict(error=f'{type(err).__name__}: {err}'[:500])
    compile_s = time.perf_counter() - start
    fns = {
        name: forward_backward_fn(m, feats, device, 'bf16')
        for name, m in (('eager', neck), ('compiled', compiled), ('mmaction',
                                                                  reference))
    }
    t = time_interleaved(fns, warmup, repeats, device)
    return dict(
        timings=t,
        compile_and_first_call_s=compile_s,
        speedup={
            'compiled_over_eager':
            t['eager']['median_s'] / t['compiled']['median_s'],
            'compiled_over_mmaction':
            t['mmaction']['median_s'] / t['compiled']['median_s'],
            'eager_over_mmaction':
            t['mmaction']['median_s'] / t['eager']['median_s']
        })


def run_ablations(config: str, model: nn.Module, x: torch.Tensor,
                  device: torch.device, neck_batch: int, warmup: int,
                  repeats: int) -> Dict[str, object]:
    """Time each ablation side by side with its baseline.

    Args:
        config (str): Model config (for rebuilding variants).
        model (nn.Module): The product model (baseline).
        x (torch.Tensor): Preprocessed clips (B, 3, T, H, W).
        device (torch.device): Device.
        neck_batch (int): Clips for the neck ablations.
        warmup (int): Untimed calls per variant.
        repeats (int): Timed rounds.

    Returns:
        dict: Per ablation the timings and ``speedup`` of each variant.
    """
    out: Dict[str, object] = {}
    model.eval()
    neck = model.neck
    feats = neck_input(neck, neck_batch, device)

    # 1. Backbone memory format.
    cfg = load_model_cfg(config)
    backbone_cl = copy.deepcopy(
        model.backbone).to(memory_format=torch.channels_last)
    backbone_cl.channels_last = True
    fns = {}
    for p in PRECISIONS:
        for name, bb in (('default', model.backbone), ('channels_last',
                                                       backbone_cl)):

            def run(bb: nn.Module = bb, p: str = p) -> None:
                with torch.inference_mode(), autocast_ctx(device, p):
                    bb(x)

            fns[f'{name}/{p}'] = run
    t = time_interleaved(fns, warmup, repeats, device)
    out['backbone_channels_last'] = dict(
        timings=t,
        speedup={
            p:
            t[f'default/{p}']['median_s'] / t[f'channels_last/{p}']['median_s']
            for p in PRECISIONS
        },
        configured=bool(cfg.backbone.get('channels_last', False)))

    # 2. SDPA backend of the neck, forward and forward+backward.
    for mode, make in (('forward', forward_fn), ('forward_backward',
                                                 forward_backward_fn)):
        fns = {}
        for p in PRECISIONS:
            base = make(neck, feats, device, p)
            fns[f'default/{p}'] = base
            fns[f'math/{p}'] = _with_backend(base, SDPBackend.MATH)
            fns[f'flash/{p}'] = _with_backend(base, SDPBackend.FLASH_ATTENTION)
        t = time_interleaved(fns, warmup, repeats, device)
        out[f'neck_sdpa_{mode}'] = dict(
            timings=t,
            speedup={
                f'{k}/{p}':
                t[f'default/{p}']['median_s'] / t[f'{k}/{p}']['median_s']
                for p in PRECISIONS
                for k in ('math', 'flash')
            })

    # 3. GELU approximation in the neck's MLP.
    # Same weights; the MLPs' ``gelu_approximate`` option set to 'tanh'.
    tanh_neck = copy.deepcopy(neck)
    for module in tanh_neck.modules():
        if hasattr(module, 'gelu_approximate'):
            module.gelu_approximate = 'tanh'
    fns = {}
    for p in PRECISIONS:
        fns[f'erf/{p}'] = forward_fn(neck, feats, device, p)
        fns[f'tanh/{p}'] = forward_fn(tanh_neck, feats, device, p)
    t = time_interleaved(fns, warmup, repeats, device)
    out['neck_gelu_tanh_forward'] = dict(
        timings=t,
        speedup={
            p: t[f'erf/{p}']['median_s'] / t[f'tanh/{p}']['median_s']
            for p in PRECISIONS
        })

    # 4. Kernel choices of the neck (``linear_impl`` / ``attn_impl``): the
    # default ('auto' for both) against F.linear everywhere and SDPA
    # everywhere, and MMAction2's neck. Ratios above 1: the default is
    # faster than the variant.
    variants = dict(
        default=neck,
        linear_everywhere=_with_kernels(neck, linear_impl='linear'),
        sdpa_everywhere=_with_kernels(neck, attn_impl='sdpa'),
        linear_and_sdpa=_with_kernels(
            neck, linear_impl='linear', attn_impl='sdpa'))
    with torch.no_grad():
        neck.eval()
        ref_out = variants['linear_and_sdpa'].eval()(feats)
        max_diff = float((neck(feats) - ref_out).abs().max())
    reference = reference_like(neck).to(device)
    variants['mmaction'] = reference
    for mode, make in (('forward', forward_fn), ('forward_backward',
                                                 forward_backward_fn)):
        fns = {}
        for p in PRECISIONS:
            for name, m in variants.items():
                fns[f'{name}/{p}'] = make(m, feats, device, p)
        t = time_interleaved(fns, warmup, repeats, device)
        out[f'neck_kernels_{mode}'] = dict(
            timings=t,
            max_abs_diff_fp32=max_diff,
            default_speedup=_default_speedup(
                t, [name for name in variants if name != 'default']))

    # 5. torch.compile (inductor) of the neck, bf16 forward+backward: the
    # case eager PyTorch leaves furthest from its bound.
    out['neck_torch_compile_bf16_forward_backward'] = _compiled(
        neck, reference, feats, device, warmup, repeats)

    # 6. Threads of the whole forward pass (backbone + neck).
    def whole(p: str) -> Callable[[], None]:

        def run() -> None:
            with torch.inference_mode(), autocast_ctx(device, p):
                model.neck(model.backbone(x))

        return run

    # 7. The inference and bf16 switches without a config option, each
    # turned off by patching the function the product calls: BN folded into
    # the convolutions, the separable stem max-pool (bf16), the float32
    # softmax of bf16 attention and the chunk budget counted in bytes
    # (bf16 chunks hold twice the tokens). Ratios above 1: the default is
    # faster than the variant.
    fns = {}
    for p in PRECISIONS:
        fns[f'default/{p}'] = whole(p)
        for name, patches in _PREVIOUS.items():
            fns[f'{name}/{p}'] = _with_patches(whole(p), patches)
    t = time_interleaved(fns, warmup, repeats, device)
    neck_switches = ('bf16_softmax', 'token_budget')
    fb = {'default/bf16': forward_backward_fn(neck, feats, device, 'bf16')}
    for name in neck_switches:
        fb[f'{name}/bf16'] = _with_patches(fb['default/bf16'], _PREVIOUS[name])
    tb = time_interleaved(fb, warmup, repeats, device)
    out['inference_switches'] = dict(
        timings=t,
        neck_bf16_forward_backward=tb,
        default_speedup=_default_speedup(t, list(_PREVIOUS)),
        default_speedup_neck_bf16_forward_backward=_default_speedup(
            tb, neck_switches, ('bf16', )))

    fns = {}
    for p in PRECISIONS:
        fns[f'threads=2/{p}'] = _with_threads(whole(p), 2)
        fns[f'threads=1/{p}'] = _with_threads(whole(p), 1)
    t = time_interleaved(fns, warmup, repeats, device)
    out['threads'] = dict(
        timings=t,
        speedup_2_over_1={
            p:
            t[f'threads=1/{p}']['median_s'] / t[f'threads=2/{p}']['median_s']
            for p in PRECISIONS
        })
    return out
