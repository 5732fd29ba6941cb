# Copyright (c) OpenMMLab. All rights reserved.
"""Inference as one compiled graph with the weights frozen in."""
import warnings
from typing import Callable, List, Optional

import torch
import torch.nn as nn

__all__ = ['FrozenGraph']


class FrozenGraph:
    """``fn(module, *args)`` as an inductor graph with the weights of
    ``module`` frozen in, for inference (eval mode, autograd off).

    Freezing makes the weights constants of the graph, so that inductor
    folds BN into the convolutions and packs the GEMM weights once. A
    graph is therefore kept only while the weights it froze are unchanged:
    when any parameter or buffer of ``module`` has been written (its
    storage, version counter or norm changed; writes through ``.data``,
    as MMEngine's EMA hook swaps weights, keep the version),
    ``torch.compiler.reset()`` drops every compiled graph of the process
    and ``fn`` compiles afresh. Where compilation fails (e.g. no C++
    compiler), a warning names the error and ``fn`` runs eagerly from then
    on. Copies and pickles drop the graph.

    Graphs are compiled for fixed batch sizes, a new one only for a batch
    larger than any so far. A smaller batch (such as a test set's last)
    runs in the smallest graph that holds it, padded with copies of its
    last sample, and the padded rows of the output are dropped. ``fn`` must
    therefore treat the first dimension of its tensor arguments as
    independent samples and return a tensor batched the same way, as a
    model in eval mode does.

    Args:
        fn (Callable): ``fn(module, *args)``, e.g. an unbound method.
    """

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.failed = False
        self._compiled: Optional[Callable] = None
        self._weights: Optional[tuple] = None
        self._batches: List[int] = []

    def __getstate__(self) -> dict:
        """State without the compiled graph (it is rebuilt on first use)."""
        return dict(self.__dict__, _compiled=None, _weights=None, _batches=[])

    @staticmethod
    def weights_key(module: nn.Module) -> tuple:
        """Storage, version and norm of every parameter and buffer."""
        tensors = [*module.parameters(), *module.buffers()]
        with torch.no_grad():
            norms = [
                torch.linalg.vector_norm(t.detach(), dtype=torch.float32)
                for t in tensors if t.is_floating_point() and t.numel()
            ]
            # One device-to-host copy for all norms; NaN as -1, so that
            # equal weights give equal keys.
            norms = torch.stack(norms).nan_to_num(-1.).tolist() \
                if norms else []
        versions = tuple((t.data_ptr(), t._version) for t in tensors)
        return versions, tuple(norms)

    def __call__(self, module: nn.Module, *args) -> torch.Tensor:
        """Run ``fn(module, *args)`` compiled (eagerly where autograd
        records, in training mode, or after a failed compilation)."""
        batch = args[0].shape[0]
        if (self.failed or torch.is_grad_enabled() or module.training
                or not batch):
            return self.fn(module, *args)
        key = self.weights_key(module)
        try:
            from torch._inductor import config as inductor_config
            if key != self._weights:
                if self._weights is not None:
                    torch.compiler.reset()
                self._compiled = torch.compile(self.fn, dynamic=False)
                self._weights, self._batches = key, []
            size = min((b for b in self._batches if b >= batch), default=0)
            if not size:
                size = batch
                self._batches.append(batch)
            padded = [pad_batch(arg, size) for arg in args]
            # Inductor reads `freezing` from its config when it compiles,
            # inside the call (torch.compile's `options` does not reach it).
            with inductor_config.patch(freezing=True):
                return self._compiled(module, *padded)[:batch]
        except Exception as error:  # noqa: B902 (compiler errors vary)
            self.failed = True
            warnings.warn(f'torch.compile failed ({type(error).__name__}: '
                          f'{error}); running eagerly')
            return self.fn(module, *args)


def pad_batch(x: torch.Tensor, size: int) -> torch.Tensor:
    """``x`` with copies of its last sample appended up to ``size`` samples
    along the first dimension (``x`` itself if it has them)."""
    missing = size - x.shape[0]
    if missing <= 0:
        return x
    return torch.cat([x, x[-1:].expand(missing, *x.shape[1:])])
