# Copyright (c) OpenMMLab. All rights reserved.
"""FLOPs of the work a model runs, counted by PyTorch's dispatcher.

The one FLOP convention of the project, shared by
``tools/analysis/get_flops.py`` and ``benchmarks/``: convolutions, linear
layers, matrix products and the two attention products (``q k^T`` and
``p v``) at 2 FLOPs per multiply-add; norms, activations, softmax, pooling
and residual adds are not counted. Only work that runs is counted, so a
module that skips work is not credited for it.
"""
from typing import Callable, Dict, Optional

import torch.nn as nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

__all__ = ['count_flops', 'flop_table']


def _counter(fn: Callable[[], object]) -> FlopCounterMode:
    """Run ``fn`` under a flop counter and return the counter.

    ``fn`` runs once before counting, so that one-off work at first use
    (e.g. a kernel probe) is not counted. ``scaled_dot_product_attention``
    is forced to its math backend while counting: the counter has no
    formula for the fused CPU kernel, whereas the math backend spells the
    attention products as counted matmuls.
    """
    fn()
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        fn()
    return counter


def count_flops(fn: Callable[[], object],
                module: Optional[nn.Module] = None) -> Dict[str, int]:
    """Count the FLOPs of one call of ``fn``.

    Args:
        fn (Callable): The work to count (e.g. ``lambda: model(x)``); it
            runs twice, once uncounted.
        module (nn.Module, optional): When given, the FLOPs spent inside
            each of its direct children are reported as well. Defaults to
            None.

    Returns:
        dict[str, int]: ``total`` and, with ``module``, one entry per child
        name (0 for children that did no counted work).
    """
    counter = _counter(fn)
    out = {'total': int(counter.get_total_flops())}
    if module is not None:
        per_module = counter.get_flop_counts()
        root = type(module).__name__
        for name, _ in module.named_children():
            ops = per_module.get(f'{root}.{name}', {})
            out[name] = int(sum(ops.values()))
    return out


def flop_table(fn: Callable[[], object], depth: int = 3) -> str:
    """Per-module FLOP table of one call of ``fn``.

    Args:
        fn (Callable): The work to count; it runs twice, once uncounted.
        depth (int): Module nesting shown. Defaults to 3.

    Returns:
        str: The table of ``torch.utils.flop_counter.FlopCounterMode``.
    """
    return _counter(fn).get_table(depth)
