# Copyright (c) OpenMMLab. All rights reserved.
"""Measure STT's speed against its peers and the machine, in one run.

``make bench`` runs this script. It prints a table and writes
``benchmarks/results.json`` with, each the median of repeated runs after
warm-up and every ratio measured side by side in the same run:

a. inference throughput (clips/s), fp32 and bf16 autocast (CUDA too when
   present);
b. training-step throughput (clips/s), fp32 and bf16;
c. STT's neck vs MMAction2's divided space-time attention at equal sizes,
   forward and forward+backward;
d. achieved GFLOP/s of the model and of the neck vs the measured
   ``torch.mm`` peak;
e. training data-pipeline throughput (JPEG folders and videos, 2 workers)
   vs training throughput;
f. peak resident memory of a training step;
g. the cost of each extra frame and each extra token;

plus bf16/fp32 top-1 agreement and a check of the targets of issue 6.
See docs/benchmarks.md for what limits each figure.
"""
import argparse
import copy
import json
import logging
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from typing import Callable, Dict, List, Tuple

if __package__ in (None, ''):
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402

__all__ = ['SETTINGS', 'parse_args', 'run', 'main']

#: Sizes and repeat counts of a full run and of ``--quick``.
SETTINGS: Dict[str, Dict[str, object]] = dict(
    full=dict(
        batch=8,
        frames=16,
        size=112,
        warmup=2,
        repeats=7,
        train_warmup=1,
        train_repeats=5,
        neck_batch=8,
        neck_warmup=1,
        neck_repeats=5,
        scaling_batch=4,
        scaling_frames=(8, 12, 16, 20, 24),
        scaling_sides=(80, 96, 112, 128, 144),
        scaling_repeats=3,
        peak_sizes=(512, 1024, 2048),
        peak_repeats=5,
        data_clips_per_class=4,
        data_batches=20,
        data_warmup_batches=2,
        memory_steps=2,
        model_overrides=None,
        agree_fit_views=64,
        agree_eval_views=256,
        agree_calib_views=64,
        agree_small_stt=(64, 1000, 40),
        e2e_steps=3,
        e2e_warmup=1),
    quick=dict(
        model_overrides=dict(
            neck=dict(num_frames=4, grid_size=(4, 4), depth=1)),
        batch=1,
        frames=4,
        size=64,
        warmup=1,
        repeats=1,
        train_warmup=0,
        train_repeats=1,
        neck_batch=1,
        neck_warmup=0,
        neck_repeats=1,
        scaling_batch=1,
        scaling_frames=(2, 4),
        scaling_sides=(48, 64),
        scaling_repeats=1,
        peak_sizes=(256, 512),
        peak_repeats=2,
        data_clips_per_class=1,
        data_batches=2,
        data_warmup_batches=1,
        memory_steps=1,
        agree_fit_views=2,
        agree_eval_views=2,
        agree_calib_views=2,
        agree_small_stt=(4, 4, 1),
        e2e_steps=1,
        e2e_warmup=1))

SECTIONS = ('peak', 'inference', 'neck', 'efficiency', 'scaling', 'training',
            'memory', 'data', 'e2e', 'agreement', 'cuda', 'diagnosis')


def parse_args(argv: List[str] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: Parsed arguments.
    """
    from benchmarks.model_factory import MODEL_CONFIG, REPO_ROOT
    parser = argparse.ArgumentParser(
        description='Benchmark STT on this machine: throughput (inference, '
        'training, data pipeline), the neck against MMAction2\'s divided '
        'attention, efficiency against the measured matmul peak, memory '
        'and scaling with frames/tokens. Prints a table and writes JSON.')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny batches and repeats (well under a minute); the JSON has '
        'the same keys but the figures are not meaningful')
    parser.add_argument(
        '--out',
        default=osp.join(REPO_ROOT, 'benchmarks', 'results.json'),
        help='where to write the JSON results (default: '
        'benchmarks/results.json)')
    parser.add_argument(
        '--threads',
        type=int,
        default=2,
        help='torch intra-op threads (default 2, the cores of the target '
        'machine); recorded in the JSON')
    parser.add_argument(
        '--config',
        default=MODEL_CONFIG,
        help='model config to build STT from (default '
        'configs/_base_/models/stt_r18.py)')
    parser.add_argument(
        '--checkpoint',
        default=None,
        help='trained STT weights for the bf16 agreement check; without '
        'it a linear probe is fitted on random-init features')
    parser.add_argument(
        '--skip',
        nargs='*',
        default=[],
        choices=SECTIONS,
        help='sections to leave out')
    parser.add_argument(
        '--diagnose',
        action='store_true',
        help='also run the ablations of benchmarks/diagnose.py '
        '(backbone channels_last, SDPA backend, GELU approximation, '
        'threads) and time the prototype neck of benchmarks/proto_neck.py '
        'in the neck comparison')
    parser.add_argument(
        '--busy-retries',
        type=int,
        default=None,
        help='run a section again (at most this many times) when other '
        'processes took more than --busy-fraction of the CPU while it ran '
        '(default 2; 0 with --quick)')
    parser.add_argument(
        '--busy-fraction',
        type=float,
        default=0.1,
        help='share of the machine\'s CPU time used by other processes '
        'above which a section counts as disturbed (default 0.1)')
    parser.add_argument(
        '--busy-wait',
        type=float,
        default=20.0,
        help='seconds to wait before running a disturbed section again '
        '(default 20)')
    args = parser.parse_args(argv)
    if args.busy_retries is None:
        args.busy_retries = 0 if args.quick else 2
    return args


def _quiet_logs() -> None:
    """Keep mmengine's INFO messages (data set summaries) off the table."""
    from mmengine.logging import MMLogger
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    MMLogger.get_instance('mmengine').setLevel(logging.WARNING)


def _memory(args: argparse.Namespace, s: dict) -> Dict[str, object]:
    """Section f: run the memory probe in fresh processes.

    A full run probes one precision after the other with ``--threads``
    threads; ``--quick`` runs both probes at once with one thread each
    (memory figures do not depend on time).
    """
    from benchmarks.model_factory import REPO_ROOT
    threads = 1 if args.quick else args.threads
    cmds = {}
    for precision in ('fp32', 'bf16'):
        cmd = [
            sys.executable, '-m', 'benchmarks.memory_probe', '--batch',
            str(s['batch']), '--frames',
            str(s['frames']), '--size',
            str(s['size']), '--precision', precision, '--steps',
            str(s['memory_steps']), '--threads',
            str(threads), '--config', args.config
        ]
        if s['model_overrides']:
            cmd += ['--overrides', json.dumps(s['model_overrides'])]
        cmds[precision] = cmd
    out: Dict[str, object] = {}
    pending, finished = {}, {}
    for precision, cmd in cmds.items():
        pending[precision] = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True)
        if not args.quick:
            finished[precision] = pending[precision].communicate()
    for precision, proc in pending.items():
        if precision not in finished:
            finished[precision] = proc.communicate()
        stdout, stderr = finished[precision]
        if proc.returncode != 0:
            raise RuntimeError(
                f'memory probe failed ({" ".join(cmds[precision])}):\n'
                f'{stderr[-2000:]}')
        out[precision] = json.loads(stdout.strip().splitlines()[-1])
    return out


def _efficiency(results: dict, model: torch.nn.Module, x: torch.Tensor,
                device: torch.device, s: dict) -> Dict[str, object]:
    """Section d: component timings and fractions of the matmul peak.

    The FLOPs are those ``FlopCounterMode`` counts for the work that
    actually runs (so a neck that skips work is not credited for it); the
    analytic count of the full architecture is kept as a cross-check.
    """
    from benchmarks.bench_efficiency import bench_components, model_flops
    comp = bench_components(model, x, device, 1, s['neck_repeats'])
    analytic = model_flops(model, s['batch'], s['frames'], s['size'])
    counted = dict(comp['flops_counted'])
    counted['head'] = analytic['head']
    counted['total'] = counted['backbone'] + counted['neck'] + \
        counted['head']
    out: Dict[str, object] = dict(
        flop_counting='torch.utils.flop_counter.FlopCounterMode over one '
        'forward pass, SDPA on its math backend so the attention products '
        'are seen (convolutions, linear layers, matmuls; 2 FLOPs per '
        'multiply-add); flops_analytic is the closed-form count of the '
        'full architecture (benchmarks/flops.py), equal to it unless a '
        'module skips work',
        flops=counted,
        flops_analytic=analytic,
        model={},
        backbone={},
        neck={})
    for precision in ('fp32', 'bf16'):
        out['model'][precision] = dict(
            median_s=results['inference'][precision]['median_s'])
        for part in ('backbone', 'neck'):
            out[part][precision] = dict(
                median_s=comp[precision][part]['median_s'])
    return out


def _sections(args: argparse.Namespace, s: dict, device: torch.device,
              results: dict, state: dict) -> List[Tuple[str, Callable]]:
    """The sections to run, in order, as (name, callable) pairs."""
    from benchmarks import (bench_agreement, bench_data, bench_model,
                            bench_neck, bench_scaling, machine, model_factory)

    def peak() -> dict:
        out = {}
        for impl, prefix in (('mm', ''), ('conv1x1', 'onednn_')):
            for p, dtype in (('fp32', torch.float32), ('bf16',
                                                       torch.bfloat16)):
                out[prefix + p] = machine.matmul_peak(dtype, device,
                                                      s['peak_sizes'], 2,
                                                      s['peak_repeats'], impl)
        return out

    def inference() -> dict:
        return bench_model.bench_inference(state['model'], state['data'],
                                           device, s['warmup'], s['repeats'])

    def neck() -> dict:
        x = model_factory.neck_input(state['model'].neck, s['neck_batch'],
                                     device)
        extra = None
        if args.diagnose:
            from benchmarks.proto_neck import ProtoFactorisedNeck
            n = state['model'].neck
            extra = dict(
                prototype=ProtoFactorisedNeck(
                    n.in_channels, n.embed_dims, n.num_frames, n.grid_size[0] *
                    n.grid_size[1], len(n.blocks), n.blocks[0].spatial_attn.
                    num_heads, n.output == 'cls').to(device))
        return bench_neck.bench_neck_vs_reference(state['model'].neck, x,
                                                  device, s['neck_warmup'],
                                                  s['neck_repeats'], extra)

    def efficiency() -> dict:
        data = state['model'].data_preprocessor(state['data'], False)
        x = data['inputs'].reshape((-1, ) + data['inputs'].shape[2:])
        return _efficiency(results, state['model'], x, device, s)

    def scaling() -> dict:
        return bench_scaling.sweep(state['model'], state['model'].neck, device,
                                   s['scaling_batch'], s['scaling_frames'],
                                   s['scaling_sides'], 1, s['scaling_repeats'])

    def training() -> dict:
        model = copy.deepcopy(state['model'])
        return bench_model.bench_training(model, state['data'], device,
                                          s['train_warmup'],
                                          s['train_repeats'])

    def memory() -> dict:
        return _memory(args, s)

    def data() -> dict:
        root = state['data_root']
        out = dict(
            frame_size=224,
            source='make_dfew_sample (224x224 JPEG folders; mp4v videos '
            'of the same frames)')
        for media in ('frames', 'video'):
            out[media] = bench_data.bench_pipeline(root, media, s['batch'], 2,
                                                   s['data_batches'],
                                                   s['data_warmup_batches'])
        return out

    def e2e() -> dict:
        from benchmarks.bench_e2e import bench_training_e2e
        return bench_training_e2e(
            copy.deepcopy(state['model']), state['data_root'], device,
            s['batch'], s['e2e_steps'], s['e2e_warmup'])

    def agreement() -> dict:
        # A copy: the probe and the BN calibration change the weights.
        out = bench_agreement.bench_agreement(
            copy.deepcopy(state['model']), state['data_root'], device,
            s['batch'], s['agree_fit_views'], s['agree_eval_views'],
            args.checkpoint, s['agree_calib_views'])
        if device.type == 'cpu':
            out['trained_small_stt'] = bench_agreement.trained_stt_agreement(
                *s['agree_small_stt'])
        return out

    def diagnosis() -> dict:
        from benchmarks.diagnose import run_ablations
        data = state['model'].data_preprocessor(state['data'], False)
        x = data['inputs'].reshape((-1, ) + data['inputs'].shape[2:])
        return run_ablations(args.config, state['model'], x, device,
                             s['neck_batch'], s['neck_warmup'],
                             s['neck_repeats'])

    def cuda() -> dict:
        gpu = torch.device('cuda')
        model = copy.deepcopy(state['model']).to(gpu)
        out = dict(
            device=torch.cuda.get_device_name(gpu),
            inference=bench_model.bench_inference(model, state['data'], gpu,
                                                  s['warmup'], s['repeats']))
        out['training'] = bench_model.bench_training(model, state['data'], gpu,
                                                     s['train_warmup'],
                                                     s['train_repeats'])
        return out

    names = dict(
        peak=('matmul_peak', peak),
        peak_end=('matmul_peak_end', peak),
        inference=('inference', inference),
        neck=('neck_vs_mmaction', neck),
        efficiency=('efficiency', efficiency),
        scaling=('scaling', scaling),
        training=('training', training),
        memory=('memory', memory),
        data=('data_pipeline', data),
        e2e=('training_e2e', e2e),
        agreement=('bf16_agreement', agreement),
        cuda=('cuda', cuda),
        diagnosis=('diagnosis', diagnosis))
    skip = set(args.skip)
    if 'inference' in skip:
        skip.add('efficiency')
    if 'peak' in skip:
        skip.add('peak_end')
    if not torch.cuda.is_available():
        skip.add('cuda')
    if not args.diagnose:
        skip.add('diagnosis')
    return [names[k] for k in SECTIONS + ('peak_end', ) if k not in skip]


def _run_section(fn: Callable[[], dict], args: argparse.Namespace,
                 contention_cls: type) -> dict:
    """Run one section; run it again while other processes disturb it.

    Args:
        fn (Callable): The section.
        args (argparse.Namespace): ``busy_retries``, ``busy_wait`` and
            ``busy_fraction`` are read.
        contention_cls (type): :class:`benchmarks.machine.Contention`.

    Returns:
        dict: The section's results plus ``section_seconds``,
        ``others_cpu_fraction`` (of the kept attempt) and ``attempts``.
    """
    for attempt in range(1, args.busy_retries + 2):
        start = time.perf_counter()
        contention = contention_cls()
        out = fn()
        busy = contention.stop()['fraction']
        out['section_seconds'] = time.perf_counter() - start
        out['others_cpu_fraction'] = busy
        out['attempts'] = attempt
        if not busy > args.busy_fraction or attempt > args.busy_retries:
            return out
        time.sleep(args.busy_wait)
    return out


def run(args: argparse.Namespace) -> dict:
    """Run every section and return the results dict.

    Args:
        args (argparse.Namespace): Parsed arguments.

    Returns:
        dict: The results, as written to JSON.
    """
    from tqdm import tqdm

    from benchmarks import bench_data, machine, model_factory
    from benchmarks.derived import apply_peaks, merge_peaks
    from benchmarks.targets import check_targets
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    _quiet_logs()
    s = SETTINGS['quick' if args.quick else 'full']
    device = torch.device('cpu')
    started = time.perf_counter()
    results: Dict[str, object] = dict(
        machine=machine.machine_info(),
        settings=dict(
            mode='quick' if args.quick else 'full',
            config=osp.relpath(args.config, model_factory.REPO_ROOT),
            checkpoint=args.checkpoint,
            **{
                k: list(v) if isinstance(v, tuple) else v
                for k, v in s.items()
            }),
        load_average_start=list(os.getloadavg()))
    whole_run = machine.Contention()
    state = dict(
        model=model_factory.build_model(
            args.config, device, overrides=s['model_overrides']),
        data=model_factory.make_batch(s['batch'], s['frames'], s['size']))
    results['model'] = model_factory.describe_model(state['model'])
    sections = _sections(args, s, device, results, state)
    needs_root = {'data_pipeline', 'training_e2e', 'bf16_agreement'}
    if any(name in needs_root for name, _ in sections):
        state['data_root'] = bench_data.make_sample_root(
            clips_per_class=s['data_clips_per_class'])
    try:
        bar = tqdm(sections, desc='benchmarks', unit='section')
        for name, fn in bar:
            bar.set_postfix_str(name)
            results[name] = _run_section(fn, args, machine.Contention)
    finally:
        if 'data_root' in state:
            shutil.rmtree(state['data_root'], ignore_errors=True)
    if 'matmul_peak_end' in results:
        results['matmul_peak'] = merge_peaks(results['matmul_peak'],
                                             results.pop('matmul_peak_end'))
    apply_peaks(results)
    results['targets'] = check_targets(results)
    results['load_average_end'] = list(os.getloadavg())
    results['others_cpu_fraction'] = whole_run.stop()['fraction']
    results['elapsed_s'] = time.perf_counter() - started
    return results


def main(argv: List[str] = None) -> None:
    """Run the benchmark, print the table and write the JSON file.

    Args:
        argv (list[str], optional): Command-line arguments.
    """
    from benchmarks.report import format_table
    args = parse_args(argv)
    results = run(args)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(results, f, indent=2)
    print(format_table(results))
    print(f'\nresults written to {args.out}')


if __name__ == '__main__':
    main()
