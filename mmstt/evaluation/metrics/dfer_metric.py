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

__all__ = ['DFERMetric', 'dfer_scores', 'row_percent']


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


def row_percent(confusion: np.ndarray) -> np.ndarray:
    """Row-normalise a confusion matrix to percent of each true class.

    Args:
        confusion (np.ndarray): ``(K, K)`` counts, rows = ground truth.

    Returns:
        np.ndarray: ``(K, K)`` float; row ``i`` sums to 100, or is all NaN
        when class ``i`` has no ground-truth sample.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    support = confusion.sum(axis=1, keepdims=True)
    out = np.full_like(confusion, np.nan)
    present = support[:, 0] > 0
    out[present] = 100 * confusion[present] / support[present]
    return out


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

    Works for any number of classes. The class names come from
    ``class_names`` or, by default, from ``dataset_meta['classes']``,
    which the Runner's loops set from the evaluated data set's
    ``METAINFO`` (7 names for DFEW/AFEW/FERV39k, 11 for MAFW).

    Logs ``dfer/war`` and ``dfer/uar`` (percent) and one
    ``dfer/recall_<class>`` per class (percent, NaN when the class has no
    ground-truth sample), logs the confusion matrix as a table in percent
    of each true class, and writes it as ``<prefix>_confusion_matrix.json``
    (counts and row percentages) and ``.png`` (row percentages with
    counts; rows = ground truth, columns = prediction) into ``out_dir`` -
    by default the log folder of the running experiment
    (``work_dir/<timestamp>``), found from the current
    :class:`~mmengine.logging.MMLogger`'s log file. The files are
    overwritten by every evaluation; the JSON records after how many
    training epochs it was made (``None`` outside training).

    A prediction score that is NaN or infinite (a diverged model) is an
    error naming the sample, never silently scored as its arg-max.

    Exact with several processes: results are gathered without
    truncation and, when the data samples carry ``sample_idx`` (add it to
    ``PackActionInputs``' ``meta_keys``, as mmstt's configs do),
    de-duplicated by it, so the samples a distributed sampler repeats to
    even out the ranks are counted once whatever the sampler. Without
    ``sample_idx`` it falls back to MMEngine's rule (keep the first
    ``size`` results in rank-interleaved order), which is exact for
    ``DefaultSampler``.

    Args:
        class_names (Sequence[str], optional): Class names in label order,
            overriding the data set's. Defaults to ``None``
            (``dataset_meta['classes']``).
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
                 class_names: Optional[Sequence[str]] = None,
                 out_dir: Optional[str] = None,
                 save_confusion_matrix: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        self._class_names = (None if class_names is None else tuple(
            str(n) for n in class_names))
        self.out_dir = out_dir
        self.save_confusion_matrix = save_confusion_matrix
        #: Paths of the files written by the last evaluation.
        self.written_files: List[str] = []

    @property
    def class_names(self) -> tuple:
        """Class names in label order (``class_names`` or the data set's).

        Raises:
            ValueError: If neither ``class_names`` nor
                ``dataset_meta['classes']`` is known, or both are and
                their lengths differ.
        """
        meta = (self.dataset_meta or {}).get('classes')
        meta = None if meta is None else tuple(str(n) for n in meta)
        if self._class_names is not None:
            if meta is not None and len(meta) != len(self._class_names):
                raise ValueError(
                    f'{self.__class__.__name__}: class_names has '
                    f'{len(self._class_names)} names but the data set has '
                    f'{len(meta)} classes ({", ".join(meta)})')
            return self._class_names
        if meta is None:
            raise ValueError(
                f'{self.__class__.__name__} does not know the class names: '
                "pass class_names, or evaluate a data set whose METAINFO "
                "has 'classes' (the Runner then sets dataset_meta)")
        return meta

    @staticmethod
    def _describe(sample: dict) -> str:
        """Short description of a sample for error messages."""
        parts = []
        for key in ('sample_idx', 'clip_id'):
            value = sample.get(key)
            if value is not None:
                parts.append(f'{key}={value}')
        return ', '.join(parts) or 'no sample_idx/clip_id'

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store ``(prediction, ground truth, sample index)`` per sample.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): Outputs of the model as dicts
                with ``gt_label`` and ``pred_score`` (``(K,)``) and/or
                ``pred_label``, optionally ``sample_idx`` and ``clip_id``.

        Raises:
            ValueError: If a ``pred_score`` holds NaN or infinity.
        """
        for sample in data_samples:
            num_scores = None
            if 'pred_score' in sample:
                score = sample['pred_score']
                if isinstance(score, torch.Tensor):
                    score = score.detach().float().cpu().numpy()
                score = np.asarray(score, dtype=np.float64).reshape(-1)
                if not np.isfinite(score).all():
                    raise ValueError(
                        f'{self.__class__.__name__}: non-finite prediction '
                        f'scores ({self._describe(sample)}): '
                        f'{np.array2string(score, precision=4)}. The model '
                        'has diverged (NaN/inf weights or activations); '
                        'its predictions cannot be scored')
                num_scores = len(score)
            if 'pred_label' in sample:
                pred = _as_int(sample['pred_label'])
            else:
                pred = int(np.argmax(score))
            idx = sample.get('sample_idx')
            self.results.append(
                dict(
                    pred=pred,
                    gt=_as_int(sample['gt_label']),
                    num_scores=num_scores,
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

        Raises:
            ValueError: If the model gives another number of scores than
                there are classes, or a label lies outside the classes.
        """
        names = self.class_names
        widths = {r.get('num_scores') for r in results} - {None}
        if widths and widths != {len(names)}:
            raise ValueError(
                f'{self.__class__.__name__}: the model outputs '
                f'{sorted(widths)} scores per clip but the data set has '
                f'{len(names)} classes ({", ".join(names)}); check the '
                "head's num_classes")
        scores = dfer_scores([r['pred'] for r in results],
                             [r['gt'] for r in results], len(names))
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
        """Log the confusion matrix (percent of each true class)."""
        names = self.class_names
        width = max(8, max(len(n) for n in names) + 1)
        head = 'gt \\ pred'.ljust(width) + ''.join(n[:width - 1].rjust(width)
                                                   for n in names)
        lines = [head + 'clips'.rjust(8) + 'recall %'.rjust(10)]
        percent = row_percent(scores['confusion'])
        for name, row, n, rec in zip(names, percent, scores['support'],
                                     scores['recall']):
            rec_str = '-' if np.isnan(rec) else f'{100 * rec:.2f}'
            cells = ''.join(
                ('-' if np.isnan(v) else f'{v:.1f}').rjust(width) for v in row)
            lines.append(
                name.ljust(width) + cells + str(n).rjust(8) +
                rec_str.rjust(10))
        print_log(
            f'DFER evaluation on {total} clips: WAR {100 * scores["war"]:.2f}'
            f', UAR {100 * scores["uar"]:.2f} (confusion matrix in % of '
            'each ground-truth class)\n' + '\n'.join(lines),
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
            confusion_matrix_percent=[[
                None if np.isnan(v) else round(float(v), 4) for v in row
            ] for row in row_percent(scores['confusion'])],
            support=scores['support'].tolist(),
            recall=[
                None if np.isnan(r) else 100 * float(r)
                for r in scores['recall']
            ],
            war=100 * scores['war'],
            uar=100 * scores['uar'],
            num_samples=total,
            epochs_trained=None if started is None else int(started) + 1,
            note='rows: ground truth, columns: prediction; '
            'confusion_matrix in clips, confusion_matrix_percent in % of '
            'each ground-truth class (null: class absent); recall/war/uar '
            'in % as logged; UAR averages the classes present in the '
            'ground truth')
        with open(stem + '.json', 'w') as f:
            json.dump(record, f, indent=2)
        self._plot(stem + '.png', scores)
        return [stem + '.json', stem + '.png']

    def _plot(self, path: str, scores: Dict[str, Any]) -> None:
        """Draw the confusion matrix in row percent, with counts."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        confusion = scores['confusion']
        percent = row_percent(confusion)
        norm = np.nan_to_num(percent / 100)
        k = len(self.class_names)
        fig = Figure(figsize=(1.0 + 0.9 * k, 1.0 + 0.8 * k))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        image = ax.imshow(100 * norm, cmap='Blues', vmin=0.0, vmax=100.0)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xticklabels(self.class_names, rotation=45, ha='right')
        ax.set_yticklabels(self.class_names)
        ax.set_xlabel('prediction')
        ax.set_ylabel('ground truth')
        ax.set_title(f'WAR {100 * scores["war"]:.2f}  '
                     f'UAR {100 * scores["uar"]:.2f}  (% of true class)')
        for i in range(k):
            for j in range(k):
                text = ('-' if np.isnan(percent[i, j]) else
                        f'{percent[i, j]:.1f}\n({confusion[i, j]})')
                ax.text(
                    j,
                    i,
                    text,
                    ha='center',
                    va='center',
                    fontsize=7,
                    color='white' if norm[i, j] > 0.5 else 'black')
        fig.tight_layout()
        fig.savefig(path, dpi=100)
