# Copyright (c) OpenMMLab. All rights reserved.
"""Parameters and FLOPs of an STT model (default: 16 x 112 x 112 clips).

FLOPs come from :func:`mmstt.utils.count_flops`, the counter
``benchmarks/`` uses too: the convolution, linear, matmul and attention
kernels that run, at 2 FLOPs per multiply-add. ``GMACs`` (half the FLOPs)
are printed for comparison with MMAction2's ``get_flops.py``, which counts
one per multiply-add.
"""
import argparse
import json
from typing import Any, Dict, List

import torch
import torch.nn as nn
from mmengine import Config, DictAction
from mmengine.registry import init_default_scope

from mmstt.utils.flops import count_flops, flop_table

DEFAULT_CONFIG = 'configs/_base_/models/stt_r18.py'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Count the parameters and FLOPs of an STT model built '
        'from a config, for one clip of the given shape.')
    parser.add_argument(
        'config',
        nargs='?',
        default=DEFAULT_CONFIG,
        help='config file with a `model` dict (default: %(default)s)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=5,
        default=[1, 3, 16, 112, 112],
        metavar=('VIEWS', 'C', 'T', 'H', 'W'),
        help='input of one sample: views, channels, frames, height, width '
        '(default: 1 3 16 112 112); the batch size is 1')
    parser.add_argument(
        '--json', help='also write the figures to this JSON file')
    parser.add_argument(
        '--table',
        action='store_true',
        help='print the per-module FLOP table as well')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.neck.depth=2')
    return parser.parse_args()


def build_model(cfg: Config) -> nn.Module:
    """Build the config's ``model`` in eval mode (random weights).

    Args:
        cfg (Config): Config with a ``model`` dict.

    Returns:
        nn.Module: The recognizer; no checkpoint is loaded (FLOPs do not
        depend on the weights).
    """
    from mmaction.registry import MODELS

    import mmstt  # noqa: F401  (registers the STT modules)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model_cfg = cfg.model.copy()
    backbone = model_cfg.get('backbone', {})
    if isinstance(backbone, dict):
        backbone.pop('init_cfg', None)
    return MODELS.build(model_cfg).eval()


def count(model: nn.Module, shape: List[int]) -> Dict[str, Any]:
    """Count parameters and FLOPs of ``model`` on one sample of ``shape``.

    Args:
        model (nn.Module): A recognizer in eval mode.
        shape (list[int]): ``[views, C, T, H, W]``.

    Returns:
        dict: ``input_shape``, ``params``, ``flops`` and ``macs`` (half the
        FLOPs), each as the total and per top-level module.
    """
    x = torch.rand(1, *shape)

    def run() -> torch.Tensor:
        with torch.no_grad():
            return model(x, mode='tensor', stage='head')

    parts = [n for n, _ in model.named_children() if n != 'data_preprocessor']
    params = {
        n: sum(p.numel() for p in getattr(model, n).parameters())
        for n in parts
    }
    params['total'] = sum(params.values())
    counted = count_flops(run, model)
    flops = {n: counted.get(n, 0) for n in parts}
    flops['total'] = counted['total']
    return dict(
        input_shape=[1] + list(shape),
        params=params,
        flops=flops,
        macs={
            k: v // 2
            for k, v in flops.items()
        },
        table=lambda: flop_table(run))


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg)
    result = count(model, args.shape)
    table = result.pop('table')
    if args.table:
        print(table())
    shape = ' x '.join(str(s) for s in result['input_shape'])
    print(f'Config: {args.config}')
    print(f'Input: {shape} (N x views x C x T x H x W)')
    print(f"{'part':<12}{'params (M)':>12}{'GMACs':>10}{'GFLOPs':>10}")
    for part in list(result['params']):
        print(f"{part:<12}{result['params'][part] / 1e6:>12.2f}"
              f"{result['macs'].get(part, 0) / 1e9:>10.2f}"
              f"{result['flops'].get(part, 0) / 1e9:>10.2f}")
    print('GFLOPs: 2 per multiply-add, convolution/linear/matmul/attention '
          'kernels that run (mmstt.utils.count_flops); GMACs = GFLOPs / 2.')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, **result), f, indent=2)
        print(f'Wrote {args.json}')


if __name__ == '__main__':
    main()
