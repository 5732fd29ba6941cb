# Copyright (c) OpenMMLab. All rights reserved.
"""Section: throughput of the training data pipeline.

A DFEW look-alike (:mod:`mmstt.testing`: 224x224 JPEG frame folders and
videos of the same clips) is written to a temporary folder; the DFEW
training pipeline of ``configs/_base_/datasets/dfew.py`` (8x2 frame
sampling, decode, random resized crop, resize to 112, flip, format, pack)
runs in a ``DataLoader`` with 2 worker processes and mmengine's
``pseudo_collate``, as the Runner does. Clips are drawn with replacement,
so any number of batches can be timed from a small set; the first batches
(worker start-up) are not.
"""
import copy
import os.path as osp
import shutil
import tempfile
import time
from typing import Dict, List

import torch
from mmengine.config import Config

from mmstt.testing import make_dfew_sample
from .common import REPO_ROOT

__all__ = ['DATA_CONFIG', 'build_loader', 'run', 'rows']

DATA_CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'dfew.py')
PIPELINES = dict(frames='train_pipeline', video='dfew_video_train_pipeline')


def build_loader(data_root: str, media: str, batch_size: int, num_workers: int,
                 num_batches: int) -> torch.utils.data.DataLoader:
    """A loader of fold 1's training split with the config's pipeline.

    Args:
        data_root (str): DFEW-layout root.
        media (str): ``'frames'`` or ``'video'``.
        batch_size (int): Clips per batch.
        num_workers (int): Worker processes.
        num_batches (int): Batches it yields (clips drawn with
            replacement, seeded).

    Returns:
        torch.utils.data.DataLoader: The loader.
    """
    import cv2
    from mmaction.registry import DATASETS
    from mmengine.dataset import pseudo_collate

    cv2.setNumThreads(0)  # as the Runner's env_cfg does
    cfg = Config.fromfile(DATA_CONFIG)
    dataset = DATASETS.build(
        dict(
            type='DFEWDataset',
            data_root=data_root,
            fold=1,
            split='train',
            media=media,
            pipeline=copy.deepcopy(cfg[PIPELINES[media]])))
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
        collate_fn=pseudo_collate)


def _time_loader(loader: torch.utils.data.DataLoader,
                 warmup: int) -> Dict[str, object]:
    """Clips per second over the batches after the first ``warmup``."""
    batches = iter(loader)
    first = None
    for _ in range(warmup):
        first = next(batches)
    start, clips = time.perf_counter(), 0
    for batch in batches:
        clips += len(batch['inputs'])
        first = first or batch
    seconds = time.perf_counter() - start
    return dict(
        clips_per_s=clips / seconds,
        clips=clips,
        seconds=seconds,
        input_shape=list(first['inputs'][0].shape))


def run(bench) -> Dict[str, object]:
    """Time the frames and the video pipeline.

    Returns:
        dict: Per medium ``clips_per_s``, ``clips``, ``seconds`` and the
        ``input_shape`` of a packed sample; ``num_workers``.
    """
    s = bench.settings
    root = tempfile.mkdtemp(prefix='mmstt_bench_data_')
    out: Dict[str, object] = dict(num_workers=2, batch=s['batch'])
    try:
        make_dfew_sample(root, seed=0, **s['data_sample'])
        for media in PIPELINES:
            loader = build_loader(root, media, s['batch'], 2,
                                  s['data_batches'] + s['data_warmup'])
            out[media] = _time_loader(loader, s['data_warmup'])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return out


def rows(results: dict) -> List[List[str]]:
    """Table rows of this section (vs the fastest training step)."""
    data, train = results['data'], results.get('training')
    out = []
    for media in PIPELINES:
        note = f"{data['num_workers']} workers"
        if train:
            fastest = max(train['clips_per_s'].values())
            note += (f"; {data[media]['clips_per_s'] / fastest:.1f}x the "
                     'fastest training step')
        out.append([
            f'data pipeline, {media} (clips/s)',
            f"{data[media]['clips_per_s']:.1f}", '', note
        ])
    return out
