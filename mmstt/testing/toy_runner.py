# Copyright (c) OpenMMLab. All rights reserved.
"""A tiny MMEngine Runner (a linear model on 16 random points) for tests of
checkpoint saving, loading and resuming."""
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

__all__ = ['ToyPoints', 'ToyLinear', 'toy_dataloader', 'build_toy_runner']


class ToyPoints(Dataset):
    """16 fixed random points in 4-d, labelled by the sign of their sum."""

    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(16, 4, generator=gen)
        self.y = (self.x.sum(1) > 0).long()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.x[idx], labels=self.y[idx])


class ToyLinear(BaseModel):
    """A 4 -> 2 linear classifier with a cross-entropy loss."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self,
                inputs: torch.Tensor,
                labels: torch.Tensor,
                mode: str = 'tensor'):
        logits = self.fc(inputs)
        if mode == 'loss':
            return dict(loss=torch.nn.functional.cross_entropy(logits, labels))
        return logits


def toy_dataloader(shuffle: bool = True) -> dict:
    """The Runner's dataloader config of :class:`ToyPoints` (batch 4).

    Args:
        shuffle (bool): Shuffle the points. Defaults to True.

    Returns:
        dict: A ``*_dataloader`` config.
    """
    return dict(
        dataset=ToyPoints(),
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        collate_fn=dict(type='default_collate'),
        batch_size=4,
        num_workers=0)


def build_toy_runner(work_dir: str, max_epochs: int, experiment_name: str,
                     **kwargs) -> Runner:
    """A Runner training :class:`ToyLinear` on :class:`ToyPoints`.

    Args:
        work_dir (str): The Runner's work dir.
        max_epochs (int): Epochs to train (batch 4, 4 iterations each).
        experiment_name (str): A name unique in the process.
        **kwargs: More Runner arguments (``resume``, ``load_from``,
            ``param_scheduler`` ...).

    Returns:
        Runner: The Runner, not yet run; it saves a checkpoint every epoch.
    """
    return Runner(
        model=ToyLinear(),
        work_dir=work_dir,
        train_dataloader=toy_dataloader(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        experiment_name=experiment_name,
        **kwargs)
