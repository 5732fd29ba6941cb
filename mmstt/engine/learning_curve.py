# Copyright (c) OpenMMLab. All rights reserved.
"""Draw a training run's learning curve (loss and validation UAR/WAR)."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['epoch_means', 'plot_learning_curve']


def epoch_means(losses: Sequence[Tuple[int, int, float]]) -> Dict[int, float]:
    """Mean training loss of each epoch.

    Args:
        losses (Sequence[tuple]): ``(iteration, epoch, loss)`` triples,
            1-based iteration and epoch.

    Returns:
        dict: Epoch to its mean loss.
    """
    sums: Dict[int, List[float]] = {}
    for _, epoch, loss in losses:
        sums.setdefault(epoch, []).append(loss)
    return {epoch: float(np.mean(v)) for epoch, v in sorted(sums.items())}


def plot_learning_curve(path: str,
                        losses: Sequence[Tuple[int, int, float]],
                        val: Sequence[Dict[str, float]],
                        iters_per_epoch: int,
                        title: str = '',
                        marked_epoch: Optional[int] = None) -> str:
    """Write the learning curve as a PNG.

    The upper panel shows the training loss per iteration (thin) and its
    mean per epoch (dots), the lower one the validation UAR and WAR per
    epoch in percent; both share an x axis in epochs.

    Args:
        path (str): PNG file to write (its folder is created).
        losses (Sequence[tuple]): ``(iteration, epoch, loss)`` triples.
        val (Sequence[dict]): One dict per validation with ``epoch``,
            ``uar`` and ``war`` (percent).
        iters_per_epoch (int): Iterations per epoch, to place iterations
            on the epoch axis.
        title (str): Figure title. Defaults to ``''``.
        marked_epoch (int, optional): Epoch to mark as the reported one.
            Defaults to None.

    Returns:
        str: ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7.0, 6.0))
    FigureCanvasAgg(fig)
    top = fig.add_subplot(2, 1, 1)
    bottom = fig.add_subplot(2, 1, 2, sharex=top)
    per_epoch = max(1, int(iters_per_epoch))
    if losses:
        iters = np.array([it for it, _, _ in losses], dtype=np.float64)
        top.plot(
            iters / per_epoch, [v for _, _, v in losses],
            lw=0.8,
            alpha=0.5,
            label='loss per iteration')
        means = epoch_means(losses)
        top.plot(
            list(means),
            list(means.values()),
            'o-',
            ms=4,
            label='mean loss of the epoch')
        top.legend(loc='upper right', fontsize=8)
    top.set_ylabel('training loss')
    top.grid(alpha=0.3)
    if val:
        epochs = [v['epoch'] for v in val]
        for key, style in (('uar', 'o-'), ('war', 's--')):
            values = [v.get(key, np.nan) for v in val]
            bottom.plot(epochs, values, style, ms=4, label=key.upper())
        if marked_epoch is not None:
            bottom.axvline(
                marked_epoch,
                color='gray',
                ls=':',
                label=f'reported: epoch {marked_epoch}')
        bottom.legend(loc='lower right', fontsize=8)
    else:
        bottom.text(
            0.5,
            0.5,
            'no validation yet',
            ha='center',
            va='center',
            transform=bottom.transAxes)
    bottom.set_ylabel('validation %')
    bottom.set_xlabel('epoch')
    bottom.set_ylim(0, 100)
    bottom.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.tmp.png'
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)  # a viewer never sees a half-written file
    return path
