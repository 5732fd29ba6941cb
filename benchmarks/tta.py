# Copyright (c) OpenMMLab. All rights reserved.
"""Section: time to accuracy of the demo config and the paper model.

One generated DFEW look-alike (:mod:`mmstt.testing`) is written to a
temporary folder; each config (``configs/stt_demo.py`` and
``configs/stt_dfew_fold1.py``, models unchanged) is then trained on its
fold-1 training split by mmengine's Runner with the config's own
optimiser and schedule. When the training wall time (evaluations and
set-up excluded) passes each budget, the model is evaluated on fold 1's
held-out test split (UAR and WAR, fp32); training stops after the last
budget or at the end of the schedule. The trained paper model then gives
the bf16-autocast vs fp32 top-1 agreement on the held-out clips.
Informational: nothing here is a test.
"""
import copy
import os.path as osp
import shutil
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.hooks import Hook

from mmstt.evaluation.metrics import dfer_scores
from mmstt.testing import make_dfew_sample
from .common import REPO_ROOT, autocast

__all__ = [
    'CONFIGS', 'uar_war', 'predict', 'BudgetHook', 'train_to_budgets',
    'agreement', 'run', 'rows', 'targets'
]

#: The configs trained side by side, by name.
CONFIGS = dict(
    demo=osp.join(REPO_ROOT, 'configs', 'stt_demo.py'),
    paper=osp.join(REPO_ROOT, 'configs', 'stt_dfew_fold1.py'))


def uar_war(scores: Sequence[np.ndarray],
            labels: Sequence[int]) -> Dict[str, float]:
    """UAR and WAR of the top class of each clip, by the library's metric.

    Args:
        scores (Sequence[np.ndarray]): Class scores of each clip.
        labels (Sequence[int]): True classes.

    Returns:
        dict[str, float]: ``uar`` and ``war``, as fractions.
    """
    figures = dfer_scores(np.argmax(scores, 1), labels, len(scores[0]))
    return dict(uar=figures['uar'], war=figures['war'])


def predict(model: nn.Module, loader, precision: str) -> Dict[str, list]:
    """Class scores of every clip of a loader.

    Args:
        model (nn.Module): Recognizer.
        loader (Iterable[dict]): Packed batches.
        precision (str): ``'fp32'`` or ``'bf16'``.

    Returns:
        dict: ``scores`` (list of float32 arrays) and ``labels``.
    """
    model.eval()
    scores, labels = [], []
    with torch.inference_mode(), autocast(precision):
        for batch in loader:
            for sample in model.test_step(batch):
                scores.append(sample.pred_score.float().numpy())
                labels.append(int(sample.gt_label))
    model.train()
    return dict(scores=scores, labels=labels)


class _BudgetSpent(Exception):
    """Raised by :class:`BudgetHook` to end training after the last one."""


class BudgetHook(Hook):
    """Evaluate when the training wall time passes each budget.

    Time spent evaluating does not count as training time; after the last
    budget, training stops.

    Args:
        budgets_s (Sequence[float]): Budgets in seconds.
        evaluate (Callable[[nn.Module], dict]): Figures of the model.
    """

    priority = 'LOWEST'

    def __init__(self, budgets_s: Sequence[float],
                 evaluate: Callable[[nn.Module], dict]) -> None:
        self.budgets_s, self.evaluate = sorted(budgets_s), evaluate
        self.records: List[dict] = []
        self._start = self._paused = 0.0
        self._bar = None

    def before_train(self, runner) -> None:
        """Start the clock and the progress bar (seconds trained)."""
        from tqdm import tqdm
        self._bar = tqdm(
            total=round(self.budgets_s[-1]), desc='training', unit='s')
        self._start, self._paused = time.perf_counter(), 0.0

    def record(self, model: nn.Module, iters: int, epoch: int,
               final: bool) -> None:
        """Evaluate once for the budgets passed (all left if ``final``)."""
        spent = time.perf_counter() - self._start - self._paused
        due = [
            b for b in self.budgets_s[len(self.records):]
            if final or b <= spent
        ]
        if due:
            start = time.perf_counter()
            figures = self.evaluate(model)
            self._paused += time.perf_counter() - start
            self.records += [
                dict(
                    figures,
                    budget_s=b,
                    train_s=spent,
                    iters=iters,
                    epochs=epoch,
                    schedule_ended=final) for b in due
            ]

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Evaluate at the budgets passed; stop after the last."""
        self.record(runner.model, runner.iter + 1, runner.epoch, False)
        spent = time.perf_counter() - self._start - self._paused
        self._bar.update(min(round(spent), self._bar.total) - self._bar.n)
        if len(self.records) == len(self.budgets_s):
            self._bar.close()
            raise _BudgetSpent

    def after_train(self, runner) -> None:
        """Close the progress bar when the schedule ends first."""
        self._bar.close()


def _point_data(cfg: dict, root: str, workers: int,
                batch: Optional[int]) -> None:
    """Point a dataloader config at ``root`` (wrapped data sets too)."""
    cfg.update(num_workers=workers, persistent_workers=False)
    if batch:
        cfg['batch_size'] = batch
    dataset = cfg['dataset']
    while isinstance(dataset, dict):
        if 'data_root' in dataset:
            dataset['data_root'] = root
        dataset = dataset.get('dataset')


def train_to_budgets(config: str, data_root: str, work_dir: str,
                     budgets_s: Sequence[float], workers: int,
                     batch: Optional[int]) -> Dict[str, object]:
    """Train a config and evaluate it at each wall-time budget.

    Args:
        config (str): Config file (model, optimiser, schedule unchanged).
        data_root (str): DFEW-layout root of the generated set.
        work_dir (str): Runner work dir (temporary).
        budgets_s (Sequence[float]): Training wall-time budgets (s).
        workers (int): Data loader workers.
        batch (int, optional): Batch size instead of the config's (smoke
            runs).

    Returns:
        dict: ``budgets`` (per budget :class:`BudgetHook` records),
        ``batch_size``, ``test_clips``, the trained ``model`` and the
        ``test_loader``.
    """
    from mmengine.runner import Runner
    cfg = Config.fromfile(config)
    for key in ('train_dataloader', 'test_dataloader'):
        _point_data(cfg[key], data_root, workers, batch)
    cfg.update(
        work_dir=work_dir,
        val_dataloader=None,
        val_cfg=None,
        val_evaluator=None,
        load_from=None,
        resume=False,
        launcher='none',
        log_level='WARNING',
        randomness=dict(seed=0))
    cfg.default_hooks.checkpoint = None
    test_loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))

    def evaluate(model: nn.Module) -> Dict[str, float]:
        out = predict(model, test_loader, 'fp32')
        return uar_war(out['scores'], out['labels'])

    hook = BudgetHook(budgets_s, evaluate)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(hook)
    try:
        runner.train()
    except _BudgetSpent:
        pass
    else:
        hook.record(runner.model, runner.iter, runner.epoch, True)
    return dict(
        budgets=hook.records,
        batch_size=cfg.train_dataloader.batch_size,
        test_clips=len(test_loader.dataset),
        model=runner.model,
        test_loader=test_loader)


def agreement(model: nn.Module, loader) -> Dict[str, object]:
    """bf16-autocast vs fp32 top-1 agreement on a loader's clips.

    Args:
        model (nn.Module): The trained recognizer.
        loader (Iterable[dict]): Held-out batches.

    Returns:
        dict: ``top1_agreement``, ``clips``, ``disagreements``,
        ``max_abs_score_diff`` and the fp32 ``uar``.
    """
    fp32 = np.stack(predict(model, loader, 'fp32')['scores'])
    out = predict(model, loader, 'bf16')
    bf16 = np.stack(out['scores'])
    differ = fp32.argmax(1) != bf16.argmax(1)
    return dict(
        top1_agreement=float(1 - differ.mean()),
        clips=len(differ),
        disagreements=int(differ.sum()),
        max_abs_score_diff=float(np.abs(fp32 - bf16).max()),
        uar=uar_war(fp32, out['labels'])['uar'])


def run(bench) -> Dict[str, object]:
    """Train both configs to the budgets; bf16 agreement of each.

    Args:
        bench (Bench): The run's state (``args.tta_budgets`` in minutes,
            ``args.tta_workers``; settings ``tta_sample``, the generator's
            options, and ``tta_batch``).

    Returns:
        dict: Per config name the :func:`train_to_budgets` figures with
        its ``bf16_agreement``, and ``budgets_min``.
    """
    s, args = bench.settings, bench.args
    budgets = sorted(args.tta_budgets)
    out: Dict[str, object] = dict(budgets_min=budgets)
    tmp = tempfile.mkdtemp(prefix='mmstt_bench_tta_')
    try:
        root = osp.join(tmp, 'data')
        start = time.perf_counter()
        make_dfew_sample(root, seed=0, **s['tta_sample'])
        out['generate_s'] = time.perf_counter() - start
        for name, config in CONFIGS.items():
            result = train_to_budgets(config, root, osp.join(tmp, name),
                                      [60 * b for b in budgets],
                                      args.tta_workers, s['tta_batch'])
            model, loader = result.pop('model'), result.pop('test_loader')
            out[name] = dict(
                result,
                config=osp.relpath(config, REPO_ROOT),
                bf16_agreement=agreement(model, loader))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def rows(results: dict) -> List[List[str]]:
    """Table rows of this section."""
    tta, out = results['tta'], []
    for name in CONFIGS:
        r = tta.get(name, {})
        for rec in r.get('budgets', []):
            out.append([
                f"held-out UAR / WAR after {rec['budget_s'] / 60:g} min, "
                f'{name}',
                f"{100 * rec['uar']:.1f}% / {100 * rec['war']:.1f}%", '',
                f"{rec['iters']} iterations of batch {r['batch_size']}"
                f", {rec['train_s']:.0f} s trained" +
                ('; schedule ended' if rec['schedule_ended'] else '')
            ])
        agree = r.get('bf16_agreement')
        if agree:
            out.append([
                f'bf16 vs fp32 top-1 agreement, trained {name} model', '',
                f"{100 * agree['top1_agreement']:.1f}%",
                f"{agree['clips']} held-out clips, {agree['disagreements']} "
                f"differ; model's fp32 UAR {100 * agree['uar']:.1f}%"
            ])
    return out


def targets(results: dict) -> Dict[str, Dict[str, object]]:
    """bf16 agreement of at least 99 % on the trained paper model."""
    agree = results['tta'].get('paper', {}).get('bf16_agreement')
    if not agree:
        return {}
    return dict(
        bf16_top1_agreement=dict(
            value=agree['top1_agreement'],
            target=0.99,
            what='bf16 vs fp32 top-1 agreement, trained paper model'))
