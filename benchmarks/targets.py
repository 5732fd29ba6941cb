# Copyright (c) OpenMMLab. All rights reserved.
"""The speed targets of issue 6 and the check of a results dict."""
from typing import Dict, List

__all__ = ['check_targets', 'failed']


def _target(value: float, threshold: float, what: str) -> Dict[str, object]:
    """One target row: the value, the threshold and whether it holds."""
    return dict(
        value=value,
        target=threshold,
        holds=bool(value >= threshold),
        what=what)


def check_targets(results: dict) -> Dict[str, Dict[str, object]]:
    """Evaluate every target the results allow.

    Args:
        results (dict): The benchmark results (sections that were skipped
            simply have no target rows).

    Returns:
        dict: Target name -> ``value``, ``target``, ``holds``, ``what``.
    """
    out: Dict[str, Dict[str, object]] = {}
    neck = results.get('neck_vs_mmaction')
    if neck:
        for precision in ('fp32', 'bf16'):
            for mode in ('forward', 'forward_backward'):
                value = neck[precision][mode]['speedup']['stt']
                out[f'neck_{mode}_{precision}'] = _target(
                    value, 1.5, f'STT neck / MMAction2 divided attention, '
                    f'{mode.replace("_", "+")}, {precision} (x)')
    eff = results.get('efficiency')
    if eff:
        value = eff['model']['fp32']['fraction_of_peak']
        out['model_fp32_peak_fraction'] = _target(
            value, 0.70, 'whole-model fp32 inference GFLOP/s / fp32 torch.mm '
            'peak')
    inf = results.get('inference')
    if inf:
        out['bf16_inference_speedup'] = _target(
            inf['bf16_speedup'], 1.8, 'bf16 / fp32 inference throughput (x)')
    agree = results.get('bf16_agreement')
    if agree:
        out['bf16_top1_agreement'] = _target(
            agree['top1_agreement'], 0.99,
            'bf16 vs fp32 top-1 agreement (fraction)')
        small = agree.get('trained_small_stt')
        if small:
            out['bf16_top1_agreement_trained_small_stt'] = _target(
                small['top1_agreement'], 0.99,
                'bf16 vs fp32 top-1 agreement, trained small STT (fraction)')
    data = results.get('data_pipeline')
    train = results.get('training')
    if data and train:
        fastest = max(train['fp32']['clips_per_s'],
                      train['bf16']['clips_per_s'])
        for media in ('frames', 'video'):
            if media in data:
                out[f'data_{media}_vs_training'] = _target(
                    data[media]['clips_per_s'] / fastest, 1.5,
                    f'data pipeline ({media}, 2 workers) / fastest '
                    'training step throughput (x)')
    return out


def failed(targets: Dict[str, Dict[str, object]]) -> List[str]:
    """Names of the targets that do not hold.

    Args:
        targets (dict): Output of :func:`check_targets`.

    Returns:
        list[str]: Names, in order.
    """
    return [k for k, v in targets.items() if not v['holds']]
