# Copyright (c) OpenMMLab. All rights reserved.
"""Section f: peak resident memory of a training step, in a fresh process.

Run as ``python -m benchmarks.memory_probe --batch 8 --precision fp32``
from the repository root; prints one JSON line. The peak is the kernel's
high-water mark of the process's resident set, ``VmHWM`` in
``/proc/self/status`` (the high-water mark of this process image; unlike
``getrusage().ru_maxrss`` it does not inherit the parent's size across
fork/exec). It includes the interpreter, torch, mmaction and the model;
``before_steps_mib`` is the resident set just before the first step and
``step_delta_mib`` the growth of the peak caused by the steps.
"""
import argparse
import json
import os
import sys
from typing import Dict, Optional

if __package__ in (None, ''):
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

__all__ = ['status_mib', 'probe', 'main']


def status_mib(field: str) -> float:
    """A memory field of ``/proc/self/status`` in MiB.

    Args:
        field (str): ``'VmRSS'`` (resident now) or ``'VmHWM'`` (peak).

    Returns:
        float: The value in MiB, or ``nan`` where ``/proc`` is missing.
    """
    try:
        with open('/proc/self/status', encoding='utf-8') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return float('nan')


def probe(batch: int,
          frames: int,
          size: int,
          precision: str,
          steps: int,
          threads: int,
          config: str,
          overrides: Optional[dict] = None) -> Dict[str, float]:
    """Build the model, run training steps, and report memory figures.

    Args:
        batch (int): Clips per step.
        frames (int): Frames per clip.
        size (int): Frame side.
        precision (str): ``'fp32'`` or ``'bf16'``.
        steps (int): Training steps (the first one allocates optimizer
            state; the peak is usually reached by the second).
        threads (int): Torch threads.
        config (str): Model config.
        overrides (dict, optional): Merged into the model config.

    Returns:
        dict: ``before_steps_mib`` (resident set after building model and
        batch), ``peak_mib`` (high-water mark after the steps),
        ``step_delta_mib`` (their difference), ``after_steps_mib``.
    """
    import torch
    from mmengine.optim import OptimWrapper

    from benchmarks.bench_model import training_step
    from benchmarks.model_factory import build_model, make_batch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    device = torch.device('cpu')
    model = build_model(config, device, overrides=overrides)
    data = make_batch(batch, frames, size)
    wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9))
    step = training_step(model, wrapper, data, device, precision)
    before = status_mib('VmRSS')
    peak_before = status_mib('VmHWM')
    for _ in range(steps):
        step()
    peak = status_mib('VmHWM')
    return dict(
        before_steps_mib=before,
        peak_before_steps_mib=peak_before,
        peak_mib=peak,
        step_delta_mib=peak - before,
        after_steps_mib=status_mib('VmRSS'),
        batch=batch,
        frames=frames,
        size=size,
        precision=precision,
        steps=steps,
        method='VmHWM of /proc/self/status in a fresh process (model '
        'built, batch made, then the training steps)')


def main() -> None:
    """Parse arguments, run :func:`probe` and print its JSON."""
    from benchmarks.model_factory import MODEL_CONFIG
    parser = argparse.ArgumentParser(
        description='Peak resident memory of STT training steps, measured '
        'in this fresh process and printed as one JSON line.')
    parser.add_argument('--batch', type=int, default=8, help='clips/step')
    parser.add_argument('--frames', type=int, default=16, help='T')
    parser.add_argument('--size', type=int, default=112, help='frame side')
    parser.add_argument(
        '--precision',
        choices=('fp32', 'bf16'),
        default='fp32',
        help='fp32, or bf16 autocast forward')
    parser.add_argument('--steps', type=int, default=2, help='steps to run')
    parser.add_argument('--threads', type=int, default=2, help='threads')
    parser.add_argument(
        '--config', default=MODEL_CONFIG, help='model config file')
    parser.add_argument(
        '--overrides',
        type=json.loads,
        default=None,
        help='JSON dict merged into the model config, e.g. '
        '\'{"neck": {"depth": 1}}\'')
    args = parser.parse_args()
    result = probe(args.batch, args.frames, args.size, args.precision,
                   args.steps, args.threads, args.config, args.overrides)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
