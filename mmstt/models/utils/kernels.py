# Copyright (c) OpenMMLab. All rights reserved.
"""Every device, precision and kernel decision of the STT model.

The model's modules are written with plain operations and call this module
where the fastest kernel depends on the machine: the memory layout of the
backbone's frames (:func:`frames`), the linear layers (:func:`linear`), the
attention (:func:`attention`) and how many clips (neck) or frames
(backbone) go through at once (:func:`chunked`). The neck's switch
``kernel`` picks the rules for its forward, the recognizer's for the whole
model (:func:`use`): ``'reference'`` runs contiguous frames, ``F.linear``,
SDPA and the whole batch; ``'auto'`` runs the rules below, on CPU only
and never while the model is exported or compiled. They change rounding
only; what each gains on which CPU is in ``docs/model_zoo.md`` and
``docs/benchmarks.md``.

1. float32 linear layers that autograd does not record run as a oneDNN 1x1
   convolution where a probe finds it faster than ``F.linear`` (its
   backward can be much slower, so training keeps ``F.linear``);
2. the backbone's frames are in channels-last memory order;
3. bfloat16/float16 linear layers run as float32 GEMMs of the rounded
   operands where a probe finds the low-precision GEMM slower (emulated);
   the products of rounded operands are exact in float32;
4. clips go through the neck, and frames through the backbone in eval
   mode, in chunks whose largest intermediate tensor takes at most
   ``CHUNK_BYTES``, so that the allocator reuses blocks instead of mapping
   fresh pages for every large tensor;
5. bfloat16/float16 attention that autograd records runs as matmul,
   float32 softmax, matmul (:func:`matmul_attention`) where a probe finds
   the fused kernel's forward+backward slower.

Each probe runs once, at first use, on operands of the neck's size.
(Compiled inference, the recognizer's ``test_cfg.compile``, is
:class:`~mmstt.models.utils.frozen_graph.FrozenGraph`.)
"""
import contextlib
import contextvars
import functools
import time
from typing import Callable, Iterator, Optional

import torch
import torch.nn.functional as F

KERNELS = ('auto', 'reference')

#: Speed-up the probes of rules 3 and 5 must show to pick their kernel.
PROBE_MIN_GAIN = 1.3
#: Speed-up the probe of rule 1 must show: the least gain a rule is kept
#: for, as the probe times the neck's own products.
CONV_MIN_GAIN = 1.1
#: Largest intermediate tensor of a chunk (rule 4), in bytes: half the
#: 32 MiB above which glibc's malloc maps every block afresh from the OS.
CHUNK_BYTES = 16 * 2**20

_CURRENT = contextvars.ContextVar('mmstt_kernel', default='reference')


@contextlib.contextmanager
def use(kernel: str) -> Iterator[None]:
    """Select the kernel rules (``'auto'`` or ``'reference'``) in a block.

    While tracing the rules are off anyway, and the context variable is
    left alone (torch.compile cannot trace ``ContextVar.set``).
    """
    if tracing():
        check(kernel)
        yield
        return
    token = _CURRENT.set(check(kernel))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check(kernel: str) -> str:
    """Return ``kernel`` if it is one of :data:`KERNELS`, else raise."""
    if kernel not in KERNELS:
        raise ValueError(f'kernel must be one of {KERNELS}, got {kernel!r}')
    return kernel


def tracing() -> bool:
    """Whether the model is being exported or compiled."""
    return (torch.compiler.is_compiling() or torch.compiler.is_exporting()
            or torch.onnx.is_in_onnx_export())


def _auto(x: torch.Tensor) -> bool:
    """Whether the ``'auto'`` rules apply to a call on ``x``."""
    return (x.device.type == 'cpu' and not tracing()
            and _CURRENT.get() == 'auto')


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype an operation on ``x`` computes in (autocast's or x's)."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


def low_precision(x: torch.Tensor) -> bool:
    """Whether an operation on ``x`` computes in bfloat16/float16 (by its
    dtype or by autocast on its device); the one definition used here."""
    return compute_dtype(x) in (torch.bfloat16, torch.float16)


def recorded(*tensors: torch.Tensor) -> bool:
    """Whether autograd records an operation on ``tensors``."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def conv1x1_linear(x: torch.Tensor,
                   weight: torch.Tensor,
                   bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` as a channels-last 1x1 convolution.

    The ``M`` rows of ``x`` are the pixels of a ``(1, K, M, 1)`` image in
    channels-last memory order, so both reshapes are views.

    Args:
        x (torch.Tensor): Input of shape ``(..., K)``.
        weight (torch.Tensor): Weight of shape ``(N, K)``.
        bias (torch.Tensor, optional): Bias of shape ``(N, )``. Defaults to
            None.

    Returns:
        torch.Tensor: Output of shape ``(..., N)``.
    """
    out_features, in_features = weight.shape
    if x.numel() == 0:
        return F.linear(x, weight, bias)
    # (..., K) -> (M, K) -> channels-last (1, K, M, 1)
    rows = x.reshape(-1, in_features)
    image = rows.view(1, rows.shape[0], 1, in_features).permute(0, 3, 1, 2)
    out = F.conv2d(image, weight.view(out_features, in_features, 1, 1), bias)
    # (1, N, M, 1) channels-last -> (M, N) -> (..., N)
    return out.permute(0, 2, 3, 1).reshape(*x.shape[:-1], out_features)


def _speedup(fast, slow, *args) -> float:
    """Best-of-six CPU time of ``slow(*args)`` over that of ``fast(*args)``,
    timed interleaved without autograd or autocast (other processes do not
    count)."""
    best = {fast: float('inf'), slow: float('inf')}
    with torch.no_grad(), torch.autocast('cpu', enabled=False):
        for _ in range(6):
            for fn in best:
                start = time.process_time()
                fn(*args)
                best[fn] = min(best[fn], time.process_time() - start)
    return best[slow] / best[fast]


def _neck_sized(dtype: torch.dtype,
                rows: int = 1600,
                out_features: int = 1536,
                in_features: int = 512) -> tuple:
    """Operands of a linear layer of the neck's size: ``(x, weight,
    bias)``."""
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(rows, in_features, generator=gen).to(dtype),
            torch.randn(out_features, in_features, generator=gen).to(dtype),
            torch.randn(out_features, generator=gen).to(dtype))


@functools.lru_cache(maxsize=None)
def conv_beats_blas() -> bool:
    """Probe rule 1 once: is the 1x1 convolution clearly faster here?

    Returns:
        bool: True if :func:`conv1x1_linear` runs the float32 products
        (with bias, as in the neck) of a neck chunk's q/k/v projection and
        MLP layers (1600 rows) at least ``CONV_MIN_GAIN`` times faster than
        ``F.linear``, summed.
    """
    products = [
        _neck_sized(torch.float32, out_features=n, in_features=k)
        for n, k in ((1536, 512), (2048, 512), (512, 2048))
    ]

    def run_all(fn) -> None:
        for x, weight, bias in products:
            fn(x, weight, bias)

    return _speedup(
        functools.partial(run_all, conv1x1_linear),
        functools.partial(run_all, F.linear)) >= CONV_MIN_GAIN


@functools.lru_cache(maxsize=None)
def low_precision_is_emulated(dtype: torch.dtype) -> bool:
    """Probe rule 3 once per dtype: is its GEMM clearly slower here?

    Args:
        dtype (torch.dtype): ``torch.bfloat16`` or ``torch.float16``.

    Returns:
        bool: True if ``F.linear`` runs a float32 product of the neck's size
        at least ``PROBE_MIN_GAIN`` times faster than the same product in
        ``dtype``.
    """
    x, w, _ = _neck_sized(torch.float32, rows=256)
    slow = (lambda a, b: F.linear(a.to(dtype), b.to(dtype)))
    return _speedup(F.linear, slow, x, w) >= PROBE_MIN_GAIN


def matmul_attention(q: torch.Tensor,
                     k: torch.Tensor,
                     v: torch.Tensor,
                     dropout_p: float = 0.) -> torch.Tensor:
    """``F.scaled_dot_product_attention`` as two matmuls (rule 5).

    The weights are computed in ``q``'s dtype, normalised by a float32
    softmax and rounded back to ``v``'s dtype before the second product.

    Args:
        q (torch.Tensor): Queries of shape ``(N, H, L_q, d)``.
        k (torch.Tensor): Keys of shape ``(N, H, L, d)``.
        v (torch.Tensor): Values of shape ``(N, H, L, d)``.
        dropout_p (float): Dropout on the attention weights. Defaults to 0.

    Returns:
        torch.Tensor: Output of shape ``(N, H, L_q, d)``.
    """
    # (N, H, L_q, d) @ (N, H, d, L) -> (N, H, L_q, L)
    weights = (q * q.shape[-1]**-0.5) @ k.transpose(-2, -1)
    weights = weights.softmax(-1, dtype=torch.float32).to(v.dtype)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return weights @ v


@functools.lru_cache(maxsize=None)
def matmul_attention_is_faster(dtype: torch.dtype) -> bool:
    """Probe rule 5 once per dtype: is :func:`matmul_attention` clearly
    faster than SDPA for a forward+backward pass here?

    Args:
        dtype (torch.dtype): ``torch.bfloat16`` or ``torch.float16``.

    Returns:
        bool: True if :func:`matmul_attention` runs forward+backward of the
        neck's temporal attention (400 sequences of 16 tokens, 8 heads of
        64 channels) at least ``PROBE_MIN_GAIN`` times faster than SDPA.
    """
    gen = torch.Generator().manual_seed(0)
    qkv = [
        torch.randn(400, 8, 16, 64, generator=gen).to(dtype).requires_grad_()
        for _ in range(3)
    ]

    def forward_backward(fn) -> None:
        with torch.enable_grad():
            fn(*qkv).sum().backward()

    return _speedup(
        functools.partial(forward_backward, matmul_attention),
        functools.partial(forward_backward,
                          F.scaled_dot_product_attention)) >= PROBE_MIN_GAIN


def attention(q: torch.Tensor,
              k: torch.Tensor,
              v: torch.Tensor,
              dropout_p: float = 0.) -> torch.Tensor:
    """``F.scaled_dot_product_attention`` with the selected kernel.

    Args:
        q (torch.Tensor): Queries of shape ``(N, H, L_q, d)``.
        k (torch.Tensor): Keys of shape ``(N, H, L, d)``.
        v (torch.Tensor): Values of shape ``(N, H, L, d)``.
        dropout_p (float): Dropout on the attention weights. Defaults to 0.

    Returns:
        torch.Tensor: Output of shape ``(N, H, L_q, d)``.
    """
    if (_auto(q) and recorded(q, k, v) and low_precision(q)
            and matmul_attention_is_faster(compute_dtype(q))):
        return matmul_attention(q, k, v, dropout_p)
    return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)


def upcast_linear(x: torch.Tensor,
                  weight: torch.Tensor,
                  bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``F.linear`` in ``x``'s compute dtype, by a float32 GEMM (rule 3).

    The operands are rounded to the compute dtype first and the output
    after, as a low-precision GEMM with float32 accumulation does.

    Args:
        x (torch.Tensor): Input of shape ``(..., K)``.
        weight (torch.Tensor): Weight of shape ``(N, K)``.
        bias (torch.Tensor, optional): Bias of shape ``(N, )``. Defaults to
            None.

    Returns:
        torch.Tensor: Output of shape ``(..., N)`` in the compute dtype.
    """
    dtype = compute_dtype(x)
    with torch.autocast(x.device.type, enabled=False):
        x, weight = x.to(dtype).float(), weight.to(dtype).float()
        if bias is not None:
            bias = bias.to(dtype).float()
        return F.linear(x, weight, bias).to(dtype)


def linear(x: torch.Tensor,
           weight: torch.Tensor,
           bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``F.linear`` with the selected kernel.

    Args:
        x (torch.Tensor): Input of shape ``(..., K)``.
        weight (torch.Tensor): Weight of shape ``(N, K)``.
        bias (torch.Tensor, optional): Bias of shape ``(N, )``. Defaults to
            None.

    Returns:
        torch.Tensor: Output of shape ``(..., N)``.
    """
    if _auto(x):
        if not low_precision(x):
            if not recorded(x, weight) and conv_beats_blas():
                return conv1x1_linear(x, weight, bias)
        elif low_precision_is_emulated(compute_dtype(x)):
            return upcast_linear(x, weight, bias)
    return F.linear(x, weight, bias)


def frames(x: torch.Tensor) -> torch.Tensor:
    """Fold clips ``(B, C, T, H, W)`` into frames ``(B*T, C, H, W)``.

    Rule 2: channels-last memory order under ``'auto'`` on CPU (one copy),
    else a plain transpose and reshape.
    """
    b, c, t, h, w = x.shape
    if _auto(x):
        # (B, C, T, H, W) -> (B*T, H, W, C), seen as (B*T, C, H, W); the
        # explicit copy also holds for B = 1, where reshape is a view.
        x = x.permute(0, 2, 3, 4, 1).contiguous()
        return x.view(b * t, h, w, c).permute(0, 3, 1, 2)
    return x.transpose(1, 2).reshape(b * t, c, h, w)


def per_chunk(x: torch.Tensor, elements: int) -> int:
    """How many entries of ``x``'s first dimension go through at once
    (rule 4).

    Args:
        x (torch.Tensor): Input batched along its first dimension (clips
            into the neck, frames into the backbone).
        elements (int): Elements of the largest intermediate tensor of one
            entry.

    Returns:
        int: ``len(x)`` under the reference rules, else the entries whose
        largest intermediate takes at most ``CHUNK_BYTES`` (at least one).
    """
    if not _auto(x):
        return x.shape[0]
    itemsize = compute_dtype(x).itemsize
    return max(1, CHUNK_BYTES // (elements * itemsize))


def chunked(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
            elements: int) -> torch.Tensor:
    """``fn(x)``, computed over chunks of ``x``'s first dimension (rule 4).

    Args:
        fn (Callable): Maps a batch along the first dimension to outputs
            batched the same way.
        x (torch.Tensor): The batch.
        elements (int): Elements of the largest intermediate tensor of one
            entry (see :func:`per_chunk`).

    Returns:
        torch.Tensor: The chunks' outputs, concatenated.
    """
    step = per_chunk(x, elements)
    if step >= x.shape[0]:
        # No split: x.split(B) leaves a guard that pins a dynamic batch
        # size to its example value in torch.export / ONNX.
        return fn(x)
    return torch.cat([fn(chunk) for chunk in x.split(step)])
