# Copyright (c) OpenMMLab. All rights reserved.
"""Section: peak resident memory of training steps, in a fresh process.

Each precision runs :func:`probe` in a new interpreter (``spawn``), which
builds the model and a batch and runs training steps. The peak is the
kernel's high-water mark of that process's resident set (``VmHWM`` in
``/proc/self/status``); it includes the interpreter, torch, mmaction and
the model. ``step_delta_mib`` is the growth of the peak over the resident
set just before the first step.
"""
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List

__all__ = ['status_mib', 'probe', 'run', 'rows']


def status_mib(field: str) -> float:
    """A memory field of ``/proc/self/status`` in MiB.

    Args:
        field (str): ``'VmRSS'`` (resident now) or ``'VmHWM'`` (peak).

    Returns:
        float: The value in MiB.
    """
    with open('/proc/self/status', encoding='utf-8') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise KeyError(f'/proc/self/status has no {field}')


def probe(model_cfg: dict, batch: int, frames: int, size: int, precision: str,
          steps: int, threads: int) -> Dict[str, float]:
    """Build the model, run training steps, report the memory figures.

    Args:
        model_cfg (dict): The model dict.
        batch (int): Clips per step.
        frames (int): Frames per clip.
        size (int): Frame side.
        precision (str): ``'fp32'`` or ``'bf16'``.
        steps (int): Training steps.
        threads (int): Torch threads.

    Returns:
        dict: ``before_steps_mib``, ``peak_mib`` and ``step_delta_mib``.
    """
    import torch

    from benchmarks.common import build_model, make_batch
    from benchmarks.training import training_step
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    step = training_step(build_model(model_cfg), precision)
    data = make_batch(batch, frames, size)
    before = status_mib('VmRSS')
    for _ in range(steps):
        step(data)
    peak = status_mib('VmHWM')
    return dict(
        before_steps_mib=before, peak_mib=peak, step_delta_mib=peak - before)


def run(bench) -> Dict[str, object]:
    """Probe fp32 and bf16 training, one fresh process after the other.

    Returns:
        dict: Per precision the :func:`probe` figures; ``batch``.
    """
    s = bench.settings
    out: Dict[str, object] = dict(batch=s['batch'], steps=s['memory_steps'])
    spawn = multiprocessing.get_context('spawn')
    for precision in ('fp32', 'bf16'):
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            out[precision] = pool.submit(probe, bench.model_cfg.to_dict(),
                                         s['batch'], s['frames'], s['size'],
                                         precision, s['memory_steps'],
                                         bench.args.threads).result()
    return out


def rows(results: dict) -> List[List[str]]:
    """Table rows of this section."""
    mem = results['memory']
    cells = [
        f"{mem[p]['peak_mib']:.0f} (+{mem[p]['step_delta_mib']:.0f})"
        for p in ('fp32', 'bf16')
    ]
    return [[
        f"peak memory, training step (MiB, batch {mem['batch']})", *cells,
        'VmHWM of a fresh process; (+) over the resident set before the '
        'steps'
    ]]
