# Copyright (c) OpenMMLab. All rights reserved.
"""What a user looks at after a run: summary, learning curve, confusion."""
import glob
import json
import math
import os.path as osp
import shutil
from typing import Any, Dict, List, Optional, Tuple

from mmaction.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ..learning_curve import plot_learning_curve

__all__ = ['DFERReportHook']

#: The two ways a config reports a training run (``dfer_checkpoint``).
REPORT_MODES = ('best', 'last')


def _metric(metrics: Dict[str, Any], name: str) -> Optional[float]:
    """``metrics['<prefix>/<name>']`` (or ``metrics[name]``) as a float."""
    for key, value in metrics.items():
        if key == name or key.endswith('/' + name):
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def _fmt(value: Optional[float]) -> str:
    return '-' if value is None or not math.isfinite(value) else \
        f'{value:.2f} %'


@HOOKS.register_module()
class DFERReportHook(Hook):
    """Summaries, learning curve and the reported confusion matrix.

    During training it records the loss of every iteration and UAR/WAR of
    every validation, redraws ``<work_dir>/learning_curve.png`` (and the
    numbers in ``learning_curve.json``) after every epoch and validation,
    and keeps a copy of the confusion matrix that ``DFERMetric`` writes
    per evaluation for the epoch that is reported:
    ``<work_dir>/confusion_matrix_best.{json,png}`` when the config's
    ``dfer_checkpoint`` is ``'best'`` (the epoch the checkpoint hook saved
    as best), ``confusion_matrix_last.{json,png}`` for ``'last'``. At the
    end of training and of testing it logs a short summary: UAR, WAR,
    which checkpoint (best or last, which epoch) and where the files are.
    It also logs the first training iteration when the logger's interval
    is longer, so progress shows within the first epoch.

    Args:
        report (str, optional): ``'best'`` or ``'last'``. Defaults to the
            config's ``dfer_checkpoint``, else ``'best'``.
        curve_file (str): Learning curve file name in the work dir.
            Defaults to ``'learning_curve.png'``.
    """

    priority = 'LOWEST'  # after the checkpoint hook has chosen the best

    def __init__(self,
                 report: Optional[str] = None,
                 curve_file: str = 'learning_curve.png') -> None:
        if report is not None and report not in REPORT_MODES:
            raise ValueError(f'report must be one of {REPORT_MODES}, got '
                             f'{report!r}')
        self.report = report
        self.curve_file = curve_file
        self.losses: List[Tuple[int, int, float]] = []
        self.val: List[Dict[str, float]] = []
        self.reported: Optional[Dict[str, Any]] = None
        self._best_ckpt: Optional[str] = None
        self._training = False
        self._loaded: Dict[str, Any] = {}

    # ------------------------------------------------------------ helpers
    def _mode(self, runner) -> str:
        mode = self.report or runner.cfg.get('dfer_checkpoint', 'best')
        if mode not in REPORT_MODES:
            raise ValueError(f'dfer_checkpoint must be one of {REPORT_MODES}'
                             f', got {mode!r}')
        return mode

    @staticmethod
    def _confusion_files(runner, loop_name: str) -> List[str]:
        """The confusion matrix files the last evaluation wrote."""
        loop = getattr(runner, loop_name, None)
        evaluator = getattr(loop, 'evaluator', None)
        files: List[str] = []
        for metric in getattr(evaluator, 'metrics', []):
            files.extend(getattr(metric, 'written_files', None) or [])
        if not files:
            files = sorted(
                glob.glob(osp.join(runner.log_dir, '*_confusion_matrix.*')))
        return [f for f in files if osp.isfile(f)]

    @staticmethod
    def _logger_interval(runner) -> int:
        for hook in runner.hooks:
            if type(hook).__name__ == 'LoggerHook':
                return int(getattr(hook, 'interval', 1))
        return 0

    def _curve_path(self, runner) -> str:
        return osp.join(runner.work_dir, self.curve_file)

    def _draw(self, runner) -> None:
        if not is_main_process():
            return
        loader = runner.train_dataloader
        per_epoch = len(loader) if hasattr(loader, '__len__') else 1
        path = self._curve_path(runner)
        plot_learning_curve(
            path,
            self.losses,
            self.val,
            per_epoch,
            title=runner.experiment_name,
            marked_epoch=self.reported['epoch'] if self.reported else None)
        with open(osp.splitext(path)[0] + '.json', 'w') as f:
            json.dump(
                dict(
                    iters_per_epoch=per_epoch,
                    train_loss=[
                        dict(iter=i, epoch=e, loss=v)
                        for i, e, v in self.losses
                    ],
                    val=self.val),
                f,
                indent=1)

    # -------------------------------------------------------------- train
    def before_train(self, runner) -> None:
        """Start recording (a resumed run starts its curve afresh)."""
        self._training = True
        self._mode(runner)  # a wrong dfer_checkpoint fails before training
        self._best_ckpt = runner.message_hub.get_info('best_ckpt', None)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        """Record the loss; log the very first iteration."""
        loss = (outputs or {}).get('loss', None)
        if loss is None:
            return
        value = float(loss.detach().item()) if hasattr(
            loss, 'detach') else float(loss)
        self.losses.append((runner.iter + 1, runner.epoch + 1, value))
        if len(self.losses) == 1 and self._logger_interval(runner) > 1:
            loader = runner.train_dataloader
            total = len(loader) if hasattr(loader, '__len__') else '?'
            print_log(
                f'Training started: epoch {runner.epoch + 1}, iteration '
                f'{batch_idx + 1}/{total} done, loss {value:.4f}',
                logger='current')

    def after_train_epoch(self, runner) -> None:
        """Redraw the learning curve, unless a validation follows."""
        loop = runner.train_loop
        epoch = runner.epoch + 1
        validates = (
            getattr(runner, '_val_loop', None) is not None
            and epoch >= getattr(loop, 'val_begin', 1)
            and (epoch % max(1, getattr(loop, 'val_interval', 1)) == 0
                 or epoch == getattr(loop, 'max_epochs', epoch)))
        if not validates:
            self._draw(runner)

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        """Record UAR/WAR and keep the reported epoch's confusion matrix."""
        if not self._training:
            return
        metrics = metrics or {}
        record = dict(
            epoch=runner.epoch,
            uar=_metric(metrics, 'uar'),
            war=_metric(metrics, 'war'))
        self.val.append(record)
        mode = self._mode(runner)
        best = runner.message_hub.get_info('best_ckpt', None)
        if mode == 'last':
            chosen = True
        elif best is not None:
            chosen = best != self._best_ckpt
        else:  # no best checkpoint saved: keep the best UAR seen so far
            chosen = self.reported is None or (record['uar'] or -1) > (
                self.reported['uar'] or -1)
        self._best_ckpt = best
        if chosen:
            self.reported = dict(record, checkpoint=best, confusion=[])
            if is_main_process():
                for src in self._confusion_files(runner, 'val_loop'):
                    suffix = osp.splitext(src)[1]
                    dst = osp.join(runner.work_dir,
                                   f'confusion_matrix_{mode}{suffix}')
                    shutil.copyfile(src, dst)
                    self.reported['confusion'].append(dst)
        self._draw(runner)

    def after_train(self, runner) -> None:
        """Log the training summary."""
        self._training = False
        mode = self._mode(runner)
        last = runner.message_hub.get_info('last_ckpt', None)
        lines = [
            f'Training finished after {runner.epoch} epochs '
            f'({runner.iter} iterations).'
        ]
        if self.reported is None:
            lines.append('No validation ran, so no UAR/WAR; the last '
                         f'checkpoint is {last or "not saved"}.')
        else:
            ckpt = self.reported['checkpoint'] if mode == 'best' else last
            lines += [
                f'Reported checkpoint ({mode} epoch, dfer_checkpoint='
                f'{mode!r}): epoch {self.reported["epoch"]}, UAR '
                f'{_fmt(self.reported["uar"])}, WAR '
                f'{_fmt(self.reported["war"])}',
                f'  checkpoint:       {ckpt or "not saved"}',
            ]
            if mode == 'best' and last:
                lines.append(f'  last checkpoint:  {last}')
            if self.reported['confusion']:
                lines.append('  confusion matrix: ' +
                             ', '.join(self.reported['confusion']))
        if not self.val:
            self._draw(runner)  # otherwise drawn after the last validation
        lines += [
            f'  learning curve:   {self._curve_path(runner)}',
            f'  work dir:         {runner.work_dir} (log: {runner.log_dir})'
        ]
        print_log('\n'.join(lines), logger='current')

    # --------------------------------------------------------------- test
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Remember which checkpoint (epoch) a test evaluates."""
        meta = checkpoint.get('meta', {}) if isinstance(checkpoint,
                                                        dict) else {}
        self._loaded = dict(epoch=meta.get('epoch', None))

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        """Log the test summary."""
        metrics = metrics or {}
        ckpt = getattr(runner, '_load_from', None)
        name = osp.basename(str(ckpt)) if ckpt else ''
        epoch = self._loaded.get('epoch', None)
        kind = 'best checkpoint' if name.startswith('best_') else (
            'checkpoint')
        about = f' ({kind} of epoch {epoch})' if epoch is not None else ''
        lines = [
            f'Test finished: UAR {_fmt(_metric(metrics, "uar"))}, WAR '
            f'{_fmt(_metric(metrics, "war"))}',
            f'  checkpoint:       {ckpt or "none (initial weights)"}{about}',
        ]
        files = self._confusion_files(runner, 'test_loop')
        if files:
            lines.append('  confusion matrix: ' + ', '.join(files))
        lines.append(f'  results in:       {runner.log_dir}')
        print_log('\n'.join(lines), logger='current')
