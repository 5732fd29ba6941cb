# Copyright (c) OpenMMLab. All rights reserved.
"""Section e: throughput of the training data pipeline.

A DFEW look-alike (``make_dfew_sample``: 224x224 JPEG frame folders and
mp4 videos of the same clips) is written to a temporary folder; the DFEW
training pipeline of ``configs/_base_/datasets/dfew.py`` (8x2 frame
sampling, decode, random resized crop, resize to 112, flip, format, pack)
then runs in a ``torch.utils.data.DataLoader`` with the chosen number of
worker processes and mmengine's ``pseudo_collate``, as the Runner does.
Clips are drawn with replacement so that any number of batches can be
timed from a small set. The first batches (worker start-up) are not timed.
"""
import copy
import os.path as osp
import tempfile
import time
from typing import Dict, Optional

import torch
from mmengine.config import Config

from .model_factory import REPO_ROOT

__all__ = [
    'DATA_CONFIG', 'make_sample_root', 'build_train_dataset',
    'build_train_loader', 'bench_pipeline'
]

DATA_CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'dfew.py')


def make_sample_root(root: Optional[str] = None,
                     clips_per_class: int = 4,
                     frame_size: int = 224) -> str:
    """Write a DFEW-layout sample (frames and videos) and return its root.

    Args:
        root (str, optional): Folder to write into; a new temporary folder
            when None (the caller removes it).
        clips_per_class (int): Clips per class.
        frame_size (int): Frame side of the JPEGs and videos.

    Returns:
        str: The data root.
    """
    from mmstt.datasets.sample_data import make_dfew_sample
    root = root or tempfile.mkdtemp(prefix='mmstt_bench_dfew_')
    make_dfew_sample(
        root, seed=0, clips_per_class=clips_per_class, frame_size=frame_size)
    return root


def _pipeline(cfg: Config, media: str) -> list:
    """The training pipeline of the data config for ``media``."""
    key = 'train_pipeline' if media == 'frames' else \
        'dfew_video_train_pipeline'
    if key not in cfg:
        raise KeyError(f'{DATA_CONFIG} defines no `{key}`')
    return copy.deepcopy(cfg[key])


def build_train_dataset(data_root: str,
                        media: str,
                        config: str = DATA_CONFIG) -> torch.utils.data.Dataset:
    """The fold-1 DFEW training split with the config's training pipeline.

    Args:
        data_root (str): DFEW-layout root.
        media (str): ``'frames'`` (JPEG folders) or ``'video'`` (mp4).
        config (str): Data config with the pipelines.

    Returns:
        torch.utils.data.Dataset: The ``DFEWDataset``.
    """
    from mmaction.registry import DATASETS
    from mmaction.utils import register_all_modules

    import mmstt  # noqa: F401
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(config)
    return DATASETS.build(
        dict(
            type='DFEWDataset',
            data_root=data_root,
            fold=1,
            split='train',
            media=media,
            pipeline=_pipeline(cfg, media)))


def build_train_loader(
        data_root: str,
        media: str,
        batch_size: int,
        num_workers: int,
        num_batches: int,
        config: str = DATA_CONFIG) -> torch.utils.data.DataLoader:
    """A DataLoader of the DFEW training pipeline over ``data_root``.

    Clips are drawn with replacement (seeded), ``num_batches`` batches in
    all, collated with mmengine's ``pseudo_collate`` like the Runner's
    loaders; OpenCV runs single-threaded, as the Runner's ``env_cfg``
    (``opencv_num_threads=0``) makes it.

    Args:
        data_root (str): DFEW-layout root.
        media (str): ``'frames'`` (JPEG folders) or ``'video'`` (mp4).
        batch_size (int): Clips per batch.
        num_workers (int): Worker processes.
        num_batches (int): Batches the loader yields.
        config (str): Data config with the pipelines.

    Returns:
        torch.utils.data.DataLoader: The loader.
    """
    import cv2
    from mmengine.dataset import pseudo_collate

    cv2.setNumThreads(0)
    dataset = build_train_dataset(data_root, media, config)
    sampler = torch.utils.data.RandomSampler(
        dataset,
        replacement=True,
        num_samples=num_batches * batch_size,
        generator=torch.Generator().manual_seed(0))
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=pseudo_collate,
        persistent_workers=False)


def bench_pipeline(data_root: str,
                   media: str,
                   batch_size: int,
                   num_workers: int,
                   batches: int,
                   warmup_batches: int = 2,
                   config: str = DATA_CONFIG) -> Dict[str, object]:
    """Time the training pipeline through a multi-worker DataLoader.

    Args:
        data_root (str): DFEW-layout root.
        media (str): ``'frames'`` (JPEG folders) or ``'video'`` (mp4).
        batch_size (int): Clips per batch.
        num_workers (int): DataLoader worker processes.
        batches (int): Timed batches.
        warmup_batches (int): Untimed batches first (worker start-up).
        config (str): Data config with the pipelines.

    Returns:
        dict: ``clips_per_s``, ``seconds``, ``clips``, ``batch_size``,
        ``num_workers``, ``input_shape`` of one packed sample.
    """
    loader = build_train_loader(data_root, media, batch_size, num_workers,
                                batches + warmup_batches, config)
    batches_iter = iter(loader)
    first = None
    for _ in range(warmup_batches):
        first = next(batches_iter)
    start = time.perf_counter()
    clips = 0
    for batch in batches_iter:
        clips += len(batch['inputs'])
        first = first or batch
    seconds = time.perf_counter() - start
    sample = first['inputs'][0]
    return dict(
        clips_per_s=clips / seconds,
        seconds=seconds,
        clips=clips,
        batch_size=batch_size,
        num_workers=num_workers,
        dataset_clips=len(loader.dataset),
        input_shape=list(sample.shape),
        input_dtype=str(sample.dtype))
