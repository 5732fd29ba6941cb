# Copyright (c) OpenMMLab. All rights reserved.
"""WAR, UAR, per-class recall and confusion matrix for DFER."""
import json
import logging
import os
import os.path as osp
import sys
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmaction.registry import METRICS
from mmengine.dist import (broadcast_object_list, collect_results,
                           is_main_process)
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, MMLogger, print_log

from ...datasets.dfer_classes import DFER_CLASSES

__all__ = ['DFERMetric', 'dfer_scores']


def dfer_scores(pred: Sequence[int], gt: Sequence[int],
                num_classes: int) -> Dict[str, Any]:
    """WAR, UAR, per-class recall and confusion matrix.

    * WAR (weighted average recall) = correct / total (= accuracy).
    * UAR (unweighted average recall) = mean of the recalls of the classes
      that occur in ``gt``. Unlike MMAction2's ``mean_class_accuracy``, a
      class that is predicted but absent from the ground truth does not add
      a zero to the mean.

    Args:
        pred (Sequence[int]): Predicted labels, shape ``(N,)``.
        gt (Sequence[int]): Ground-truth labels, shape ``(N,)``.
        num_classes (int): Number of classes K.

    Returns:
        dict: ``war`` and ``uar`` (fractions in [0, 1]), ``recall``
        (``(K,)`` float, NaN for classes absent from ``gt``), ``support``
        (``(K,)`` ground-truth counts) and ``confusion`` (``(K, K)`` int
        counts, rows = ground truth, columns = prediction).

    Raises:
        ValueError: On empty input, length mismatch or labels outside
            ``0..K-1``.
    """
    pred = np.asarray(pred, dtype=np.int64).reshape(-1)
    gt = np.asarray(gt, dtype=np.int64).reshape(-1)
    if pred.shape != gt.shape:
        raise ValueError(f'{len(pred)} predictions for {len(gt)} labels')
    if len(gt) == 0:
        raise ValueError('no sample to evaluate')
    for name, arr in (('prediction', pred), ('ground truth', gt)):
        if arr.min() < 0 or arr.max() >= num_classes:
            raise ValueError(f'{name} labels must lie in 0..'
                             f'{num_classes - 1}, got {arr.min()}..'
                             f'{arr.max()}')
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (gt, pred), 1)
    support = confusion.sum(axis=1)
    hits = np.diag(confusion)
    recall = np.full(num_classes, np.nan)
    present = support > 0
    recall[present] = hits[present] / support[present]
    return dict(
        war=float(hits.sum() / len(gt)),
        uar=float(recall[present].mean()),
        recall=recall,
        support=support,
        confusion=confusion)


def _as_int(value: Any) -> int:
    """A label stored as int, tensor or array, as ``int``."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.numel() != 1:
            raise ValueError(f'expected a single label, got a tensor of shape '
                             f'{tuple(value.shape)}')
        return int(value.item())
    arr = np.asarray(value).reshape(-1)
    if arr.size != 1:
        raise ValueError(f'expected a single label, got {value!r}')
    return int(arr[0])


@METRICS.register_module()
class DFERMetric(BaseMetric):
    """WAR / UAR / per-class recall / confusion matrix for DFER.

    Logs ``dfer/war`` and ``dfer/uar`` (percent) and one
    ``dfer/recall_<class>`` per class (percent, NaN when the class has no
    ground-truth sample), logs the confusion matrix as a table, and writes
    it as ``<prefix>_confusion_matrix.json`` and ``.png`` (rows = ground
    truth, columns = prediction) into ``out_dir`` - by default the log
    folder of the running experiment (``work_dir/<timestamp>``), found
    from the current :class:`~mmengine.logging.MMLogger`'s log file. The
    files are overwritten by every evaluation; the JSON records after how
    many training epochs it was made (``None`` outside training).

    Exact with several processes: results are gathered without
    truncation and, when the data samples carry ``sample_idx`` (add it to
    ``PackActionInputs``' ``meta_keys``, as mmstt's configs do),
    de-duplicated by it, so the samples a distributed sampler repeats to
    even out the ranks are counted once whatever the sampler. Without
    ``sample_idx`` it falls back to MMEngine's rule (keep the first
    ``size`` results in rank-interleaved order), which is exact for
    ``DefaultSampler``.

    Args:
        class_names (Sequence[str]): Class names in label order. Defaults
            to :data:`mmstt.datasets.DFER_CLASSES`.
        out_dir (str, optional): Folder for the confusion matrix files.
            Defaults to ``None`` (the experiment's log folder; nothing is
            written when there is none).
        save_confusion_matrix (bool): Write the JSON and PNG files.
            Defaults to ``True``.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Metric name prefix. Defaults to ``'dfer'``.
        collect_dir (str, optional): Shared folder for CPU collection.
            Defaults to ``None``.
    """

    default_prefix = 'dfer'

    def __init__(self,
                 class_names: Sequence[str] = DFER_CLASSES,
                 out_dir: Optional[str] = None,
                 save_confusion_matrix: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        self.class_names = tuple(class_names)
        self.out_dir = out_dir
        self.save_confusion_matrix = save_confusion_matrix
        #: Paths of the files written by the last evaluation.
        self.written_files: List[str] = []

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store ``(prediction, ground truth, sample index)`` per sample.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): Outputs of the model as dicts
                with ``gt_label`` and ``pred_label`` or ``pred_score``
                (``(K,)``), optionally ``sample_idx``.
        """
        for sample in data_samples:
            if 'pred_label' in sample:
                pred = _as_int(sample['pred_label'])
            else:
                score = sample['pred_score']
                if isinstance(score, torch.Tensor):
                    score = score.detach().cpu().numpy()
                pred = int(np.argmax(np.asarray(score)))
            idx = sample.get('sample_idx')
            self.results.append(
                dict(
                    pred=pred,
                    gt=_as_int(sample['gt_label']),
                    sample_idx=None if idx is None else int(idx)))

    def _deduplicate(self, results: List[dict], size: int) -> List[dict]:
        """Drop the repeated samples of distributed padding."""
        if results and all(r.get('sample_idx') is not None for r in results):
            by_idx: Dict[int, dict] = {}
            for r in results:
                by_idx.setdefault(r['sample_idx'], r)
            unique = [by_idx[k] for k in sorted(by_idx)]
            if len(unique) != size:
                print_log(
                    f'{self.__class__.__name__}: {len(unique)} distinct '
                    f'samples evaluated, the data set has {size} (clips '
                    "skipped by on_bad_clip='skip' are not counted)",
                    logger='current',
                    level=logging.WARNING)
            return unique
        return results[:size]

    def evaluate(self, size: int) -> dict:
        """Gather the results of all ranks and compute the metrics.

        Args:
            size (int): Length of the evaluated data set.

        Returns:
            dict: Prefixed metrics, identical on every rank.
        """
        if len(self.results) == 0:
            print_log(
                f'{self.__class__.__name__} got no result to evaluate',
                logger='current',
                level=logging.WARNING)
        # Gather everything (no truncation), de-duplicate afterwards.
        kwargs = dict(
            tmpdir=self.collect_dir) if (self.collect_device == 'cpu') else {}
        results = collect_results(self.results, sys.maxsize,
                                  self.collect_device, **kwargs)
        if is_main_process():
            results = self._deduplicate(results, size)
            metrics = self.compute_metrics(results)
            if self.prefix:
                metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
            payload = [metrics]
        else:
            payload = [None]
        broadcast_object_list(payload)
        self.results.clear()
        return payload[0]

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute WAR, UAR and per-class recall (percent).

        Args:
            results (list[dict]): De-duplicated per-sample results.

        Returns:
            dict: ``war``, ``uar`` and ``recall_<class>`` in percent.
        """
        scores = dfer_scores([r['pred'] for r in results],
                             [r['gt'] for r in results], len(self.class_names))
        metrics = dict(war=100 * scores['war'], uar=100 * scores['uar'])
        for name, rec in zip(self.class_names, scores['recall']):
            metrics[f'recall_{name}'] = float(100 * rec)
        self._log_table(scores, len(results))
        if self.save_confusion_matrix:
            out_dir = self._resolve_out_dir()
            if out_dir is None:
                print_log(
                    f'{self.__class__.__name__}: no out_dir and no log '
                    'folder; confusion matrix not written',
                    logger='current')
            else:
                self.written_files = self._write(out_dir, scores, len(results))
        return metrics

    def _log_table(self, scores: Dict[str, Any], total: int) -> None:
        """Log the confusion matrix and recalls as a text table."""
        width = max(8, max(len(n) for n in self.class_names) + 1)
        head = 'gt \\ pred'.ljust(width) + ''.join(n[:width - 1].rjust(width)
                                                   for n in self.class_names)
        lines = [head + 'recall %'.rjust(10)]
        for name, row, rec in zip(self.class_names, scores['confusion'],
                                  scores['recall']):
            rec_str = '-' if np.isnan(rec) else f'{100 * rec:.2f}'
            lines.append(
                name.ljust(width) + ''.join(str(v).rjust(width)
                                            for v in row) + rec_str.rjust(10))
        print_log(
            f'DFER evaluation on {total} clips: WAR {100 * scores["war"]:.2f}'
            f', UAR {100 * scores["uar"]:.2f}\n' + '\n'.join(lines),
            logger='current')

    def _resolve_out_dir(self) -> Optional[str]:
        """``out_dir``, else the log folder of the running experiment.

        A Runner creates an :class:`~mmengine.logging.MMLogger` whose log
        file lies in ``work_dir/<timestamp>/``; the newest logger with a
        log file is taken.
        """
        if self.out_dir is not None:
            return self.out_dir
        for logger in reversed(list(MMLogger._instance_dict.values())):
            log_file = getattr(logger, 'log_file', None)
            if log_file:
                return osp.dirname(osp.abspath(log_file))
        return None

    def _write(self, out_dir: str, scores: Dict[str, Any],
               total: int) -> List[str]:
        """Write the confusion matrix as JSON and PNG."""
        os.makedirs(out_dir, exist_ok=True)
        stem = osp.join(out_dir, f'{self.prefix or "dfer"}_confusion_matrix')
        # The Runner records the 0-based index of the last epoch started;
        # an evaluation after training epoch N (1-based) sees N - 1.
        started = MessageHub.get_current_instance().get_info('epoch')
        record = dict(
            classes=list(self.class_names),
            confusion_matrix=scores['confusion'].tolist(),
            support=scores['support'].tolist(),
            recall=[
                None if np.isnan(r) else float(r) for r in scores['recall']
            ],
            war=scores['war'],
            uar=scores['uar'],
            num_samples=total,
            epochs_trained=None if started is None else int(started) + 1,
            note='rows: ground truth, columns: prediction; recall/war/uar '
            'as fractions; UAR averages the classes present in the ground '
            'truth')
        with open(stem + '.json', 'w') as f:
            json.dump(record, f, indent=2)
        self._plot(stem + '.png', scores)
        return [stem + '.json', stem + '.png']

    def _plot(self, path: str, scores: Dict[str, Any]) -> None:
        """Draw the row-normalised confusion matrix with counts."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        confusion = scores['confusion']
        support = np.maximum(confusion.sum(axis=1, keepdims=True), 1)
        norm = confusion / support
        k = len(self.class_names)
        fig = Figure(figsize=(1.0 + 0.9 * k, 1.0 + 0.8 * k))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        image = ax.imshow(norm, cmap='Blues', vmin=0.0, vmax=1.0)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xticklabels(self.class_names, rotation=45, ha='right')
        ax.set_yticklabels(self.class_names)
        ax.set_xlabel('prediction')
        ax.set_ylabel('ground truth')
        ax.set_title(f'WAR {100 * scores["war"]:.2f}  '
                     f'UAR {100 * scores["uar"]:.2f}')
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    str(confusion[i, j]),
                    ha='center',
                    va='center',
                    fontsize=8,
                    color='white' if norm[i, j] > 0.5 else 'black')
        fig.tight_layout()
        fig.savefig(path, dpi=100)
