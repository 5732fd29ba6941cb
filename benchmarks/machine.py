# Copyright (c) OpenMMLab. All rights reserved.
"""What machine the figures come from, and its measured matmul peak."""
import os
import platform
import time
from typing import Dict, Optional, Sequence

import torch

from mmstt.models.necks import conv1x1_linear
from .timing import time_repeated

__all__ = ['cpu_model_name', 'machine_info', 'matmul_peak', 'Contention']


def cpu_model_name() -> str:
    """Return the CPU model string from ``/proc/cpuinfo`` when available.

    Returns:
        str: e.g. ``'AMD EPYC'``; ``platform.processor()`` as a fallback.
    """
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> Sequence[str]:
    """Return the ISA extensions of interest that the CPU reports."""
    wanted = ('avx2', 'avx512f', 'avx512_bf16', 'avx512_vnni', 'amx_bf16',
              'amx_tile', 'fma')
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('flags'):
                    have = set(line.split(':', 1)[1].split())
                    return [flag for flag in wanted if flag in have]
    except OSError:
        pass
    return []


def machine_info(device: Optional[torch.device] = None) -> Dict[str, object]:
    """Describe the machine, the software stack and the thread settings.

    Args:
        device (torch.device, optional): The CUDA device in use, if any.

    Returns:
        dict: CPU model, logical cores, usable cores, torch/mmaction
        versions, torch threads and ``torch.backends.cpu.get_cpu_capability``.
    """
    import mmaction
    import mmengine
    info: Dict[str, object] = dict(
        cpu_model=cpu_model_name(),
        logical_cores=os.cpu_count(),
        usable_cores=len(os.sched_getaffinity(0)) if hasattr(
            os, 'sched_getaffinity') else os.cpu_count(),
        cpu_flags=list(_cpu_flags()),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        mkldnn_available=torch.backends.mkldnn.is_available(),
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        torch_version=torch.__version__,
        mmaction_version=mmaction.__version__,
        mmengine_version=mmengine.__version__,
        python_version=platform.python_version(),
        platform=platform.platform(),
        cuda_available=torch.cuda.is_available())
    if device is not None and torch.device(device).type == 'cuda':
        info['cuda_device'] = torch.cuda.get_device_name(device)
        info['cuda_version'] = torch.version.cuda
    return info


def matmul_peak(dtype: torch.dtype,
                device: torch.device,
                sizes: Sequence[int] = (512, 1024, 2048),
                warmup: int = 3,
                repeats: int = 5,
                impl: str = 'mm') -> Dict[str, object]:
    """Measure the achievable GEMM rate for square matrices.

    The peak is the best median over ``sizes``, so it is what a large,
    well-shaped GEMM reaches on this machine with the current thread
    setting, not the datasheet figure.

    Args:
        dtype (torch.dtype): ``torch.float32`` or ``torch.bfloat16``.
        device (torch.device): Where to run.
        sizes (Sequence[int]): Square matrix sizes to try.
        warmup (int): Untimed calls per size.
        repeats (int): Timed calls per size (median taken).
        impl (str): ``'mm'`` (``torch.mm``: MKL sgemm for float32 on CPU,
            oneDNN for bfloat16) or ``'conv1x1'`` (the same GEMM as a 1x1
            convolution, which PyTorch runs with oneDNN on CPU).

    Returns:
        dict: ``peak_gflops``, ``best_size``, ``gflops_by_size``, ``impl``.
    """
    if impl not in ('mm', 'conv1x1'):
        raise ValueError(f"impl must be 'mm' or 'conv1x1', got {impl!r}")
    op = torch.mm if impl == 'mm' else conv1x1_linear
    by_size = {}
    for n in sizes:
        a = torch.randn(n, n, device=device).to(dtype)
        b = torch.randn(n, n, device=device).to(dtype)
        # Batch enough calls per timing that tiny sizes are not timer noise.
        inner = max(1, int(4e9 // (2 * n**3)))

        def run(a: torch.Tensor = a,
                b: torch.Tensor = b,
                inner: int = inner) -> None:
            for _ in range(inner):
                op(a, b)

        times = sorted(time_repeated(run, warmup, repeats, device))
        median = times[len(times) // 2] / inner
        by_size[str(n)] = 2.0 * n**3 / median / 1e9
    best = max(by_size, key=by_size.get)
    return dict(
        peak_gflops=by_size[best],
        best_size=int(best),
        gflops_by_size=by_size,
        impl=impl)


def _busy_seconds() -> float:
    """CPU seconds all processes spent busy since boot (``/proc/stat``)."""
    with open('/proc/stat', encoding='utf-8') as f:
        fields = f.readline().split()[1:]
    # user nice system idle iowait irq softirq steal ...
    values = [int(v) for v in fields]
    busy = sum(values) - values[3] - (values[4] if len(values) > 4 else 0)
    return busy / os.sysconf('SC_CLK_TCK')


def _own_seconds() -> float:
    """CPU seconds of this process and its reaped children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Contention:
    """How much CPU other processes took while a piece of work ran.

    ``fraction`` = (busy CPU time of the whole machine - CPU time of this
    process and its finished children) / (wall time * cores). Near 0 on a
    quiet machine; on a 2-core machine 0.5 means another process kept one
    core busy throughout, which halves the cores available to the
    benchmark and stalls its OpenMP threads at every barrier.
    """

    def __init__(self) -> None:
        self.start()

    def start(self) -> None:
        """(Re)start the measurement."""
        self._wall = time.perf_counter()
        try:
            self._busy = _busy_seconds()
        except (OSError, ValueError, IndexError):
            self._busy = None
        self._own = _own_seconds()

    def stop(self) -> Dict[str, float]:
        """Return the figures since :meth:`start`.

        Returns:
            dict: ``others_cpu_s`` and ``fraction`` (``nan`` where
            ``/proc/stat`` is missing).
        """
        wall = time.perf_counter() - self._wall
        if self._busy is None or wall <= 0:
            return dict(others_cpu_s=float('nan'), fraction=float('nan'))
        busy = _busy_seconds() - self._busy
        others = max(0.0, busy - (_own_seconds() - self._own))
        cores = len(os.sched_getaffinity(0)) if hasattr(
            os, 'sched_getaffinity') else (os.cpu_count() or 1)
        return dict(others_cpu_s=others, fraction=others / (wall * cores))
