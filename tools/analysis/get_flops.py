# Copyright (c) OpenMMLab. All rights reserved.
"""Parameters and FLOPs of an STT model (default: 16 x 112 x 112 clips).

Two independent counts are printed:

* mmengine's ``FlopAnalyzer`` (the fvcore counter that MMAction2's own
  ``get_flops.py`` uses through ``get_model_complexity_info``), extended
  with a handle for ``scaled_dot_product_attention``, which it does not
  count by itself. Its convention is one fused multiply-add = 1 "flop",
  i.e. it reports multiply-accumulates (MACs). It also counts norms
  (BatchNorm/LayerNorm) as a few flops per element.
* ``torch.utils.flop_counter.FlopCounterMode``, which counts the matmul,
  convolution and attention kernels actually run, at 2 FLOPs per
  multiply-add.

``GFLOPs`` in ``docs/model_zoo.md`` are the second convention (2 per
multiply-add), which is the one to set against a machine's FLOP/s.
"""
import argparse
import json
from collections import Counter
from typing import Any, Dict, List

import torch
import torch.nn as nn
from mmengine import Config, DictAction
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape
from mmengine.analysis.print_helper import complexity_stats_table
from mmengine.registry import init_default_scope
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

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
        help="print mmengine's per-module table as well")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.neck.depth=2')
    return parser.parse_args()


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> Counter:
    """MACs of ``scaled_dot_product_attention``: ``q k^T`` and ``p v``.

    Args:
        inputs (list): JIT values ``q (..., L, E)``, ``k (..., S, E)``,
            ``v (..., S, Ev)``, ...
        outputs (list): JIT value of the output.

    Returns:
        Counter: ``{'scaled_dot_product_attention': MACs}``.
    """
    q, k, v = (get_shape(inputs[i]) for i in range(3))
    batch = 1
    for size in q[:-2]:
        batch *= size
    length, dims = q[-2], q[-1]
    keys, v_dims = k[-2], v[-1]
    return Counter({
        'scaled_dot_product_attention':
        batch * length * keys * (dims + v_dims)
    })


class _Logits(nn.Module):
    """Wrap a recognizer so that ``forward(x)`` returns its logits."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, mode='tensor', stage='head')


def build_model(cfg: Config) -> nn.Module:
    """Build the config's ``model`` in eval mode (random weights)."""
    from mmaction.registry import MODELS

    import mmstt  # noqa: F401  (registers the STT modules)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model_cfg = cfg.model.copy()
    backbone = model_cfg.get('backbone', {})
    # FLOPs do not depend on the weights: never load a checkpoint here.
    if isinstance(backbone, dict):
        backbone.pop('init_cfg', None)
    return MODELS.build(model_cfg).eval()


def count(model: nn.Module, shape: List[int]) -> Dict[str, Any]:
    """Count parameters and FLOPs of ``model`` on one sample of ``shape``.

    Args:
        model (nn.Module): A recognizer in eval mode.
        shape (list[int]): ``[views, C, T, H, W]``.

    Returns:
        dict: ``params`` (total and per top-level module), ``macs``
        (mmengine's count, total and per module) and ``flops`` (torch's
        counter, 2 per multiply-add).
    """
    x = torch.rand(1, *shape)
    wrapped = _Logits(model).eval()
    analyzer = FlopAnalyzer(wrapped, (x, ))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    by_module = analyzer.by_module()
    parts = [n for n, _ in model.named_children() if n != 'data_preprocessor']
    params = {
        n: sum(p.numel() for p in getattr(model, n).parameters())
        for n in parts
    }
    params['total'] = sum(params.values())
    macs = {n: int(by_module.get(f'model.{n}', 0)) for n in parts}
    macs['total'] = int(analyzer.total())
    # FlopCounterMode has no formula for the fused CPU attention kernel;
    # under SDPA's math backend the two attention products are plain bmm.
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), \
            FlopCounterMode(display=False) as counter:
        wrapped(x)
    flops = {'total': int(counter.get_total_flops())}
    per_module = counter.get_flop_counts()
    for n in parts:
        key = next((k for k in per_module if k.endswith(f'.{n}')), None)
        flops[n] = int(sum(per_module[key].values())) if key else 0
    table = complexity_stats_table(
        analyzer, max_depth=3, show_param_shapes=False)
    return dict(
        input_shape=[1] + list(shape),
        params=params,
        macs=macs,
        flops=flops,
        table=table)


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg)
    result = count(model, args.shape)
    table = result.pop('table')
    if args.table and table:
        print(table)
    shape = ' x '.join(str(s) for s in result['input_shape'])
    print(f'Config: {args.config}')
    print(f'Input: {shape} (N x views x C x T x H x W)')
    print(f"{'part':<12}{'params (M)':>12}{'GMACs':>10}{'GFLOPs':>10}")
    for part in list(result['params']):
        print(f"{part:<12}{result['params'][part] / 1e6:>12.2f}"
              f"{result['macs'].get(part, 0) / 1e9:>10.2f}"
              f"{result['flops'].get(part, 0) / 1e9:>10.2f}")
    print('GMACs: mmengine FlopAnalyzer (1 per multiply-add, norms '
          'included, SDPA added); GFLOPs: torch FlopCounterMode (2 per '
          'multiply-add, matmul/conv/attention only).')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, **result), f, indent=2)
        print(f'Wrote {args.json}')


if __name__ == '__main__':
    main()
