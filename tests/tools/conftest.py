# Copyright (c) OpenMMLab. All rights reserved.
"""Helpers for the end-to-end tests of tools/: tiny configs, subprocesses.

The end-to-end tests run the real command-line tools in subprocesses on the
generated sample set, with the model and clips shrunk through
``--cfg-options`` (1 STT block, 32-d tokens, a 16-channel ResNet-18
tokenizer, 8 frames at 32x32) so that each run takes seconds on a CPU.
"""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from glob import glob
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SAMPLE_CONFIG = osp.join(ROOT, 'configs', 'stt_sample.py')

#: Tiny model settings (the neck works on any token grid and frame count).
TINY_MODEL = [
    'model.backbone.base_channels=16', 'model.neck.in_channels=64',
    'model.neck.embed_dims=32', 'model.neck.depth=1', 'model.neck.num_heads=2',
    'model.neck.num_frames=8', 'model.neck.grid_size=(2,2)',
    'model.cls_head.in_channels=32', 'model.cls_head.loss_cls.feat_dim=32'
]


def _pipeline_options(prefix: str, pipeline: Sequence[dict]) -> List[str]:
    """Options setting 8 frames and 32x32 in one pipeline (by position)."""
    opts = []
    for i, step in enumerate(pipeline):
        kind = step.get('type')
        if kind == 'DFERSampleFrames':
            opts.append(f'{prefix}.{i}.clip_len=8')
        elif kind == 'Resize':
            opts.append(f'{prefix}.{i}.scale=(32,32)')
    return opts


def tiny_options(config: str = SAMPLE_CONFIG,
                 data_root: Optional[str] = None) -> List[str]:
    """``--cfg-options`` values that shrink a config for a CPU smoke run.

    Args:
        config (str): The config to shrink. Defaults to stt_sample.py.
        data_root (str, optional): The sample set's root.

    Returns:
        list[str]: ``key=value`` strings.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    opts = list(TINY_MODEL)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += _pipeline_options(f'{key}.dataset.pipeline',
                                  cfg[key]['dataset']['pipeline'])
    if cfg.get('test_pipeline', None) is not None:
        opts += _pipeline_options('test_pipeline', cfg.test_pipeline)
    if data_root is not None:
        opts.append(f'data_root={data_root}')
    return opts


def free_port() -> int:
    """A TCP port that is free right now (for torchrun's master)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def tool_env(**extra: str) -> Dict[str, str]:
    """Environment for tool subprocesses: repo on PYTHONPATH, 1 thread."""
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env['PYTHON'] = sys.executable
    env.update(extra)
    return env


def run_tool(args: Sequence[str],
             timeout: float = 300,
             **env: str) -> subprocess.CompletedProcess:
    """Run a command from the repo root; fail the test with its output.

    Args:
        args (Sequence[str]): The command (``sys.executable`` is used for a
            leading ``'python'``).
        timeout (float): Seconds. Defaults to 300.
        **env (str): Extra environment variables.

    Returns:
        subprocess.CompletedProcess: With ``stdout`` (stderr merged).
    """
    args = [sys.executable if a == 'python' else a for a in args]
    proc = subprocess.run(
        args,
        cwd=ROOT,
        env=tool_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f'{" ".join(args)} exited with {proc.returncode}:\n'
                    f'{proc.stdout[-6000:]}')
    return proc


def val_records(work_dir: str) -> Dict[int, Dict]:
    """Validation records (epoch -> metrics) of a training work dir."""
    records = {}
    for path in sorted(
            glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'dfer/uar' in rec and 'lr' not in rec:
                    records[int(rec['step'])] = rec
    return records


def read_test_metrics(work_dir: str) -> Dict:
    """Metrics of the newest ``tools/test.py`` run in ``work_dir``."""
    stamps = sorted(
        d for d in os.listdir(work_dir)
        if osp.isfile(osp.join(work_dir, d, f'{d}.json')))
    assert stamps, f'no test metrics json in {work_dir}'
    with open(osp.join(work_dir, stamps[-1], f'{stamps[-1]}.json')) as f:
        return json.load(f)


@pytest.fixture(scope='session')
def sample_root(dfew_sample_root: str) -> str:
    """The generated DFEW look-alike (from tests/conftest.py)."""
    return dfew_sample_root


@pytest.fixture(scope='session')
def trained_sample(tmp_path_factory: pytest.TempPathFactory,
                   sample_root: str) -> str:
    """Work dir of a 2-epoch tiny training run of configs/stt_sample.py."""
    work_dir = str(tmp_path_factory.mktemp('stt_sample_run'))
    run_tool([
        'python', 'tools/train.py', SAMPLE_CONFIG, '--work-dir', work_dir,
        '--seed', '0', '--cfg-options', 'train_cfg.max_epochs=2',
        *tiny_options(data_root=sample_root)
    ])
    return work_dir


@pytest.fixture(scope='session')
def e2e() -> SimpleNamespace:
    """The helpers above, for the test modules (conftest is not importable
    under ``--import-mode=importlib``)."""
    return SimpleNamespace(
        ROOT=ROOT,
        SAMPLE_CONFIG=SAMPLE_CONFIG,
        TINY_MODEL=TINY_MODEL,
        tiny_options=tiny_options,
        free_port=free_port,
        tool_env=tool_env,
        run_tool=run_tool,
        val_records=val_records,
        read_test_metrics=read_test_metrics)
