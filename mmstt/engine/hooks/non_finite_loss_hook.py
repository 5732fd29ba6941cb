# Copyright (c) OpenMMLab. All rights reserved.
"""Stop training at the first non-finite loss."""
import math
from typing import Any, Optional

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook

__all__ = ['NonFiniteLossError', 'NonFiniteLossHook']


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite."""


def _as_float(value: Any) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return None if torch.isfinite(value).all() else float('nan')
        return float(value.detach().float().item())
    if isinstance(value, (int, float)):
        return float(value)
    return None


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise at once when a training loss is NaN or infinite.

    A diverged run (e.g. a learning rate far too high) otherwise keeps
    training on NaN weights, saves them as checkpoints and may mark one of
    them best. The error names the epoch and the iteration, so the run
    stops before the checkpoint hook of that epoch or iteration runs
    (``DFERRunner`` also refuses to save non-finite weights).

    Args:
        check_all (bool): Check every logged loss term (``loss_cls`` ...),
            not only the total ``loss``. Defaults to True.
    """

    # Before the logger and the checkpoint hooks of the same iteration.
    priority = 'ABOVE_NORMAL'

    def __init__(self, check_all: bool = True) -> None:
        self.check_all = check_all

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        """Check the losses of the iteration that just ran.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (Any): The batch. Defaults to None.
            outputs (dict, optional): The logged losses of ``train_step``.
                Defaults to None.

        Raises:
            NonFiniteLossError: If a checked loss is NaN or infinite.
        """
        if not outputs:
            return
        items = outputs.items() if self.check_all else [('loss',
                                                         outputs.get('loss'))]
        bad = {}
        for name, value in items:
            if not (name == 'loss' or 'loss' in name):
                continue
            number = _as_float(value)
            if number is not None and not math.isfinite(number):
                bad[name] = number
        if not bad:
            return
        epoch = runner.epoch + 1
        loader = runner.train_dataloader
        per_epoch = len(loader) if hasattr(loader, '__len__') else '?'
        terms = ', '.join(f'{k}={v}' for k, v in bad.items())
        raise NonFiniteLossError(
            f'Non-finite training loss ({terms}) at epoch {epoch}, '
            f'iteration {runner.iter + 1} ({batch_idx + 1} of {per_epoch} in '
            'the epoch). Training stopped; no checkpoint was saved from '
            'this point on. Typical causes: a learning rate too high (check '
            'optim_wrapper.optimizer.lr and auto_scale_lr) or corrupt input.')
