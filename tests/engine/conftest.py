# Copyright (c) OpenMMLab. All rights reserved.
"""A tiny recognizer and data set for Runner-level tests of mmstt.engine.

The toy follows MMAction2's layout (``backbone`` + ``cls_head.fc_cls``)
and returns predictions ``DFERMetric`` scores, so checkpoints, the report
hook and the NaN guard run exactly as in a real training, in a second.
"""
import os.path as osp
from types import SimpleNamespace
from typing import Callable, Sequence

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch.utils.data import Dataset

import mmstt  # noqa: F401  (registers DFERRunner, hooks, DFERMetric)
from mmstt.engine import DFERRunner

CLASSES_3 = ('happy', 'sad', 'neutral')


class ToyClips(Dataset):
    """Points in 4-d whose class is learnable; ``metainfo`` has classes."""

    def __init__(self,
                 classes: Sequence[str] = CLASSES_3,
                 num: int = 24,
                 seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.classes = tuple(classes)
        self.y = torch.arange(num) % len(self.classes)
        centres = torch.randn(len(self.classes), 4, generator=gen) * 3
        self.x = centres[self.y] + 0.3 * torch.randn(num, 4, generator=gen)

    @property
    def metainfo(self) -> dict:
        return dict(classes=self.classes)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.x[idx], label=self.y[idx])


class ToyHead(nn.Module):

    def __init__(self, num_classes: int, width: int = 8) -> None:
        super().__init__()
        self.fc_cls = nn.Linear(width, num_classes)


class ToyRecognizer(BaseModel):
    """``backbone`` + ``cls_head.fc_cls``, like MMAction2's recognizers."""

    def __init__(self, num_classes: int = 3, width: int = 8) -> None:
        super().__init__()
        self.backbone = nn.Linear(4, width)
        self.cls_head = ToyHead(num_classes, width)

    def forward(self, inputs, label=None, mode='tensor'):
        logits = self.cls_head.fc_cls(torch.relu(self.backbone(inputs)))
        if mode == 'loss':
            return dict(loss_cls=F.cross_entropy(logits, label))
        if mode == 'predict':
            scores = logits.softmax(-1)
            return [
                dict(pred_score=s, gt_label=int(g))
                for s, g in zip(scores, label)
            ]
        return logits


def build_toy_runner(work_dir: str,
                     max_epochs: int = 2,
                     lr: float = 0.1,
                     classes: Sequence[str] = CLASSES_3,
                     model: nn.Module = None,
                     param_scheduler=None,
                     validate: bool = True,
                     **cfg_keys) -> DFERRunner:
    """A ``DFERRunner`` on the toy; ``cfg_keys`` go to the config
    (``load_head``, ``dfer_checkpoint``, ``show_config``), the keys
    ``load_from``/``resume`` to the runner."""
    runner_keys = {
        k: cfg_keys.pop(k)
        for k in ('load_from', 'resume', 'experiment_name') if k in cfg_keys
    }
    runner_keys.setdefault('experiment_name',
                           f'toy_{osp.basename(work_dir)}_{max_epochs}')
    loader = dict(
        dataset=ToyClips(classes),
        sampler=dict(type='DefaultSampler', shuffle=True),
        collate_fn=dict(type='default_collate'),
        batch_size=4,
        num_workers=0)
    val = dict(
        val_dataloader=dict(
            loader,
            dataset=ToyClips(classes, seed=0),
            sampler=dict(type='DefaultSampler', shuffle=False)),
        val_cfg=dict(type='ValLoop'),
        val_evaluator=dict(type='DFERMetric'),
        test_dataloader=dict(
            loader,
            dataset=ToyClips(classes, seed=0),
            sampler=dict(type='DefaultSampler', shuffle=False)),
        test_cfg=dict(type='TestLoop'),
        test_evaluator=dict(type='DFERMetric')) if validate else {}
    return DFERRunner(
        model=model if model is not None else ToyRecognizer(len(classes)),
        work_dir=work_dir,
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9)),
        param_scheduler=param_scheduler,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook',
                interval=1,
                save_best='dfer/uar' if validate else None,
                rule='greater',
                save_last=True),
            logger=dict(type='LoggerHook', interval=10)),
        randomness=dict(seed=0),
        default_scope='mmaction',
        cfg=dict(cfg_keys),
        **runner_keys,
        **val)


@pytest.fixture
def toy_runner() -> Callable[..., DFERRunner]:
    """:func:`build_toy_runner`."""
    return build_toy_runner


@pytest.fixture(scope='session')
def toy() -> SimpleNamespace:
    """The toy's pieces: ``Recognizer``, ``Clips``, ``classes``,
    ``runner`` (:func:`build_toy_runner`)."""
    return SimpleNamespace(
        Recognizer=ToyRecognizer,
        Clips=ToyClips,
        classes=CLASSES_3,
        runner=build_toy_runner)
