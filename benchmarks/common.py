# Copyright (c) OpenMMLab. All rights reserved.
"""What every section shares: the machine record, timing and the model.

Absolute times on a shared machine are noisy, so every comparison runs its
candidates interleaved (A, B, A, B, ...) after a common warm-up and
compares medians: a slow phase of the machine then hits all candidates.
"""
import contextlib
import copy
import os
import os.path as osp
import platform
import statistics
import time
from typing import Callable, ContextManager, Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict

__all__ = [
    'REPO_ROOT', 'MODEL_CONFIG', 'PRECISIONS', 'autocast', 'forward_step',
    'cpu_record', 'machine_info', 'Contention', 'summarize',
    'time_interleaved', 'ratio', 'round_ratios', 'throughput',
    'throughput_row', 'load_model_cfg', 'build_model', 'twin', 'make_batch',
    'Bench'
]

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODEL_CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'stt_r18.py')

#: The precisions every section measures.
PRECISIONS = ('fp32', 'bf16')

#: CPU features that decide which kernels are fast.
CPU_FLAGS = ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16',
             'avx512_fp16', 'amx_tile', 'amx_bf16', 'amx_int8')


def autocast(precision: str, device: str = 'cpu') -> ContextManager:
    """The context a forward pass of ``precision`` runs in.

    Args:
        precision (str): ``'fp32'`` (no autocast) or ``'bf16'`` (autocast
            to bfloat16).
        device (str): Device type. Defaults to ``'cpu'``.

    Returns:
        ContextManager: The context.
    """
    if precision == 'fp32':
        return contextlib.nullcontext()
    if precision == 'bf16':
        return torch.autocast(device, dtype=torch.bfloat16)
    raise ValueError(f'unknown precision {precision!r}; use {PRECISIONS}')


def forward_step(module: nn.Module, x: torch.Tensor,
                 precision: str) -> Callable[[], torch.Tensor]:
    """A callable that runs ``module(x)`` for inference (eval mode,
    ``torch.inference_mode`` and the autocast of ``precision``)."""

    def step() -> torch.Tensor:
        module.eval()
        with torch.inference_mode(), autocast(precision):
            return module(x)

    return step


def _cpuinfo(key: str) -> str:
    """The first ``key`` line of ``/proc/cpuinfo`` ('' where missing)."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.lower().startswith(key):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return ''


def cpu_record() -> Dict[str, object]:
    """The CPU model and the flags that matter, stored with each figure.

    Returns:
        dict: ``cpu_model`` (str), ``cpu_flags`` (those of
        :data:`CPU_FLAGS` the CPU reports), ``amx_bf16`` (bool) and
        ``cpu_capability`` (the ISA level torch dispatches to).
    """
    have = set(_cpuinfo('flags').split())
    flags = [f for f in CPU_FLAGS if f in have]
    return dict(
        cpu_model=_cpuinfo('model name') or platform.processor()
        or platform.machine(),
        cpu_flags=flags,
        amx_bf16='amx_bf16' in flags,
        cpu_capability=torch.backends.cpu.get_cpu_capability())


def machine_info() -> Dict[str, object]:
    """The CPU record plus cores, threads and software versions.

    Returns:
        dict: What a reader needs to compare a figure with another run.
    """
    import mmaction
    import mmengine
    return dict(
        cpu_record(),
        usable_cores=len(os.sched_getaffinity(0)),
        torch_threads=torch.get_num_threads(),
        torch_version=torch.__version__,
        mmaction_version=mmaction.__version__,
        mmengine_version=mmengine.__version__,
        python_version=platform.python_version(),
        load_average=list(os.getloadavg()))


class Contention:
    """Share of the machine's CPU that other processes take meanwhile.

    (busy CPU time of the machine, from ``/proc/stat``, minus that of this
    process and its finished children) / (wall time * cores): about 0 on a
    quiet machine, 0.5 on 2 cores when another process keeps one busy.
    """

    @staticmethod
    def _now() -> tuple:
        """Wall clock, the machine's busy seconds and our own."""
        with open('/proc/stat', encoding='utf-8') as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = (sum(v) - v[3] - v[4]) / os.sysconf('SC_CLK_TCK')
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return time.perf_counter(), busy, own

    def __init__(self) -> None:
        self._start = self._now()

    def fraction(self) -> float:
        """Others' share of the machine since construction, 0 to 1."""
        (w0, b0, o0), (w1, b1, o1) = self._start, self._now()
        # /proc/stat counts every core of the machine, not only ours.
        cores = os.cpu_count() or 1
        return max(0.0, (b1 - b0) - (o1 - o0)) / max((w1 - w0) * cores, 1e-9)


def summarize(times: List[float]) -> Dict[str, object]:
    """Median, minimum and maximum of timings, and the timings.

    Args:
        times (list[float]): Elapsed seconds, at least one.

    Returns:
        dict: ``median_s``, ``min_s``, ``max_s``, ``repeats`` and ``times``
        (the timings in their order).
    """
    if not times:
        raise ValueError('summarize() needs at least one timing')
    return dict(
        median_s=statistics.median(times),
        min_s=min(times),
        max_s=max(times),
        repeats=len(times),
        times=list(times))


def time_interleaved(fns: Dict[str, Callable[[], object]], warmup: int,
                     repeats: int) -> Dict[str, Dict[str, float]]:
    """Time candidates side by side, one call of each per round.

    Args:
        fns (dict[str, Callable]): Candidates by name.
        warmup (int): Untimed calls of each candidate first.
        repeats (int): Timed rounds.

    Returns:
        dict[str, dict[str, float]]: Per candidate :func:`summarize` of its
        wall times plus ``median_cpu_s`` (process CPU time, which grows
        less than wall time when other processes take the cores).
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    wall: Dict[str, List[float]] = {name: [] for name in fns}
    cpu: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            cpu_start, start = time.process_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - cpu_start)
    return {
        name:
        dict(summarize(wall[name]), median_cpu_s=statistics.median(cpu[name]))
        for name in fns
    }


def ratio(timings: Dict[str, Dict[str, float]], slow: str, fast: str) -> float:
    """How many times faster ``fast`` ran than ``slow`` (median times).

    Args:
        timings (dict): Output of :func:`time_interleaved`.
        slow (str): The baseline candidate.
        fast (str): The candidate compared with it.

    Returns:
        float: ``median(slow) / median(fast)``.
    """
    return timings[slow]['median_s'] / timings[fast]['median_s']


def round_ratios(timings: Dict[str, Dict[str, object]], slow: str,
                 fast: str) -> List[float]:
    """``slow``'s time over ``fast``'s in each round of the timing.

    A round runs the candidates back to back, so each ratio compares them
    under the same load; the spread of the ratios shows how far the
    machine's noise moves the ratio of the medians.

    Args:
        timings (dict): Output of :func:`time_interleaved`.
        slow (str): The baseline candidate.
        fast (str): The candidate compared with it.

    Returns:
        list[float]: One ratio per round.
    """
    return [
        s / f for s, f in zip(timings[slow]['times'], timings[fast]['times'])
    ]


def throughput(timings: Dict[str, Dict[str, float]],
               batch: int) -> Dict[str, object]:
    """Clips/s and speed-ups of ``model/<p>`` and ``reference/<p>`` runs.

    Args:
        timings (dict): Output of :func:`time_interleaved`.
        batch (int): Clips per call.

    Returns:
        dict: ``batch``, ``clips_per_s`` per precision, ``bf16_speedup``
        and ``kernel_gain`` (reference time over default time, per
        precision).
    """
    return dict(
        batch=batch,
        clips_per_s={
            p: batch / timings[f'model/{p}']['median_s']
            for p in PRECISIONS
        },
        bf16_speedup=ratio(timings, 'model/fp32', 'model/bf16'),
        kernel_gain={
            p: ratio(timings, f'reference/{p}', f'model/{p}')
            for p in PRECISIONS
        })


def throughput_row(what: str, figures: dict) -> List[str]:
    """The table row of :func:`throughput` figures.

    Args:
        what (str): What was timed.
        figures (dict): Output of :func:`throughput`.

    Returns:
        list[str]: Figure, fp32, bf16, notes.
    """
    cps, gain = figures['clips_per_s'], figures['kernel_gain']
    note = (f"bf16/fp32 {figures['bf16_speedup']:.2f}x; kernel='auto' over "
            f"'reference' {gain['fp32']:.2f}x / {gain['bf16']:.2f}x")
    return [
        f"{what} (clips/s, batch {figures['batch']})", f"{cps['fp32']:.2f}",
        f"{cps['bf16']:.2f}", note
    ]


def load_model_cfg(config: str = MODEL_CONFIG,
                   overrides: Optional[dict] = None) -> ConfigDict:
    """The ``model`` of a config file (built without loading weights).

    Args:
        config (str): Config path. Defaults to :data:`MODEL_CONFIG`.
        overrides (dict, optional): Merged into the model dict (nested
            dicts merge, as in ``ConfigDict.merge``). Defaults to None.

    Returns:
        ConfigDict: A copy of ``cfg.model``.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'model config {config} does not exist')
    cfg = Config.fromfile(config)
    if 'model' not in cfg:
        raise KeyError(f'{config} defines no `model`')
    model = copy.deepcopy(cfg.model)
    model.merge(overrides or {})
    return model


def build_model(model_cfg: dict) -> nn.Module:
    """Build a recognizer in eval mode, with random weights.

    Args:
        model_cfg (dict): The model dict, e.g. from :func:`load_model_cfg`.

    Returns:
        nn.Module: The recognizer.
    """
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules

    import mmstt  # noqa: F401  (registers the STT modules)
    register_all_modules(init_default_scope=True)
    return MODELS.build(copy.deepcopy(model_cfg)).eval()


def twin(model: nn.Module, model_cfg: dict, overrides: dict) -> nn.Module:
    """The same model and weights, built with ``overrides`` merged into its
    dict (e.g. ``dict(neck=dict(kernel='reference'))``).

    Args:
        model (nn.Module): The recognizer built from ``model_cfg``.
        model_cfg (ConfigDict): Its model dict.
        overrides (dict): Merged as in ``ConfigDict.merge``.

    Returns:
        nn.Module: The twin in eval mode.
    """
    cfg = copy.deepcopy(model_cfg)
    cfg.merge(overrides)
    built = build_model(cfg)
    built.load_state_dict(model.state_dict(), strict=True)
    return built.eval()


def make_batch(batch: int,
               frames: int,
               size: int,
               num_classes: int = 7,
               seed: int = 0) -> Dict[str, list]:
    """A packed batch as the data loader hands it to ``*_step``.

    Args:
        batch (int): Clips.
        frames (int): Frames per clip.
        size (int): Frame height and width.
        num_classes (int): Labels are drawn from ``range(num_classes)``.
            Defaults to 7.
        seed (int): Seed of pixels and labels. Defaults to 0.

    Returns:
        dict: ``inputs`` (uint8 (1, 3, T, H, W) tensors) and
        ``data_samples`` (``ActionDataSample`` with ``gt_label``).
    """
    from mmaction.structures import ActionDataSample
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.randint(
                0,
                256, (1, 3, frames, size, size),
                generator=gen,
                dtype=torch.uint8))
        label = int(torch.randint(0, num_classes, (1, ), generator=gen))
        samples.append(ActionDataSample().set_gt_label(label))
    return dict(inputs=inputs, data_samples=samples)


class Bench:
    """The state of one run that the sections share.

    Args:
        settings (dict): Sizes and repeat counts (``run.SETTINGS``).
        model_cfg (dict): The benchmarked model's dict.
        args (argparse.Namespace): The command line.

    Attributes:
        model (nn.Module): The recognizer (random weights, eval mode).
        reference (nn.Module): The same weights with
            ``model.neck.kernel='reference'``.
        compiled (nn.Module): The same weights with
            ``model.test_cfg.compile=True``.
        data (dict): A packed batch of random clips.
    """

    def __init__(self, settings: dict, model_cfg: dict, args) -> None:
        self.settings, self.model_cfg, self.args = settings, model_cfg, args
        self.model = build_model(model_cfg)
        self.reference = twin(self.model, model_cfg,
                              dict(neck=dict(kernel='reference')))
        self.compiled = twin(self.model, model_cfg,
                             dict(test_cfg=dict(compile=True)))
        self.data = make_batch(settings['batch'], settings['frames'],
                               settings['size'])
