# Copyright (c) OpenMMLab. All rights reserved.
"""Precision contexts shared by every section of the benchmark."""
import contextlib
from typing import ContextManager

import torch

__all__ = ['PRECISIONS', 'autocast_ctx']

#: The precisions every section measures.
PRECISIONS = ('fp32', 'bf16')


def autocast_ctx(device: torch.device, precision: str) -> ContextManager:
    """Return the autocast context of ``precision`` on ``device``.

    Args:
        device (torch.device): Device the work runs on.
        precision (str): ``'fp32'`` (no autocast) or ``'bf16'``
            (``torch.autocast(device.type, dtype=torch.bfloat16)``).

    Returns:
        ContextManager: The context to run the forward pass in.
    """
    if precision == 'fp32':
        return contextlib.nullcontext()
    if precision == 'bf16':
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    raise ValueError(f'unknown precision {precision!r}; use {PRECISIONS}')
