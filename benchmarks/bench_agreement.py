# Copyright (c) OpenMMLab. All rights reserved.
"""bf16 vs fp32 top-1 agreement of the whole model on face clips.

Agreement is only meaningful for a model whose classes are separated by
real margins. Without a trained checkpoint (``--checkpoint``), a *linear
probe* is fitted: the head's classifier is trained in fp32 (L2-regularised
logistic regression) on the clip features of ``fit`` augmented views of
DFEW look-alike clips, and the agreement is then measured on ``eval``
*other* augmented views by running the full model (``test_step``) in fp32
and under bf16 autocast.

Before that, the random-initialised backbone's BatchNorm statistics are
estimated on ``calib`` further views (:func:`calibrate_bn`), as training
does: a fresh BN layer normalises with mean 0 / variance 1 whatever the
activations are, which leaves clip features that differ little from clip
to clip (the common part dominates the LayerNorm-ed class token), so that
bf16 rounding is large relative to the differences. Calibration took
that ratio from about 10 % to 4 % on the benchmark clips; the weights stay
random, so the estimate is still no substitute for a trained checkpoint.
``feature_noise_to_spread`` reports the ratio so a reader can judge.
"""
import random
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from torch.nn.modules.batchnorm import _BatchNorm

from .bench_data import build_train_dataset
from .bench_model import inference_step
from .model_factory import classifier_layer
from .precision import autocast_ctx

__all__ = [
    'draw_views', 'calibrate_bn', 'clip_features', 'fit_linear_probe',
    'noise_to_spread', 'bench_agreement', 'trained_stt_agreement'
]


def draw_views(data_root: str, count: int, seed: int) -> List[dict]:
    """Draw ``count`` augmented training views of the sample clips.

    Args:
        data_root (str): DFEW-layout root.
        count (int): Views to draw (clips are cycled).
        seed (int): Seed of Python/NumPy randomness used by the transforms.

    Returns:
        list[dict]: Packed samples (``inputs``, ``data_samples``).
    """
    dataset = build_train_dataset(data_root, 'frames')
    random.seed(seed)
    np.random.seed(seed)
    return [dataset[i % len(dataset)] for i in range(count)]


def _batches(views: List[dict], size: int) -> List[dict]:
    """Collate views into packed batches of ``size``."""
    return [
        pseudo_collate(views[i:i + size]) for i in range(0, len(views), size)
    ]


def calibrate_bn(model: nn.Module, views: List[dict], batch: int,
                 device: torch.device) -> int:
    """Estimate the backbone's BatchNorm statistics on ``views``.

    Every BN layer's running mean and variance are reset and replaced by
    their average over the batches (``momentum=None``), computed in fp32
    with train-mode BN and no gradient; the momentum is then restored and
    the model returned to eval mode. Nothing else changes.

    Args:
        model (nn.Module): Recognizer.
        views (list[dict]): Packed samples.
        batch (int): Clips per forward pass.
        device (torch.device): Device.

    Returns:
        int: Number of BN layers calibrated.
    """
    layers = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    with torch.no_grad():
        for data in _batches(views, batch):
            x = model.data_preprocessor(data, False)['inputs'].to(device)
            model.backbone(x.reshape((-1, ) + x.shape[2:]))
    for m, momentum in zip(layers, momenta):
        m.momentum = momentum
    model.eval()
    return len(layers)


def clip_features(model: nn.Module, views: List[dict], batch: int,
                  device: torch.device,
                  precision: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Clip embeddings (neck outputs) of ``views`` and their labels.

    Args:
        model (nn.Module): Recognizer.
        views (list[dict]): Packed samples.
        batch (int): Clips per forward pass.
        device (torch.device): Device.
        precision (str): ``'fp32'`` or ``'bf16'``.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: Features (N, D) in float32 and
        labels (N, ).
    """
    feats, labels = [], []
    model.eval()
    with torch.inference_mode(), autocast_ctx(device, precision):
        for data in _batches(views, batch):
            data = model.data_preprocessor(data, False)
            x = data['inputs']
            x = x.reshape((-1, ) + x.shape[2:])
            feats.append(model.neck(model.backbone(x)).float())
            labels += [int(s.gt_label) for s in data['data_samples']]
    return torch.cat(feats).clone(), torch.tensor(labels, device=device)


def fit_linear_probe(model: nn.Module,
                     feats: torch.Tensor,
                     labels: torch.Tensor,
                     steps: int = 500,
                     weight_decay: float = 1e-3) -> float:
    """Fit the head's classifier on fp32 clip features.

    Plain L2-regularised logistic regression on the raw features (no
    per-dimension standardisation, which would up-weight directions in
    which the clips hardly differ, i.e. where bf16 rounding dominates).

    Args:
        model (nn.Module): Recognizer; its classifier layer is replaced.
        feats (torch.Tensor): fp32 features (N, D).
        labels (torch.Tensor): Labels (N, ).
        steps (int): Full-batch Adam steps.
        weight_decay (float): L2 penalty on the weights.

    Returns:
        float: Training accuracy of the probe.
    """
    layer = classifier_layer(model)
    weight = torch.zeros_like(layer.weight, requires_grad=True)
    bias = torch.zeros_like(layer.bias, requires_grad=True)
    optim = torch.optim.Adam([weight, bias], lr=0.05)
    for _ in range(steps):
        optim.zero_grad()
        loss = F.cross_entropy(feats @ weight.t() + bias, labels)
        loss = loss + weight_decay * weight.square().sum()
        loss.backward()
        optim.step()
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
        acc = (feats @ weight.t() + bias).argmax(1) == labels
    return float(acc.float().mean())


def noise_to_spread(fp32: torch.Tensor, bf16: torch.Tensor) -> float:
    """RMS bf16 error of features over their RMS spread across clips.

    Args:
        fp32 (torch.Tensor): fp32 features (N, D).
        bf16 (torch.Tensor): bf16-autocast features of the same clips.

    Returns:
        float: ``rms(bf16 - fp32) / rms(fp32 - mean over clips)``; top-1
        flips become likely as this approaches the class margins.
    """
    spread = (fp32 - fp32.mean(0)).square().mean().sqrt()
    return float((bf16 - fp32).square().mean().sqrt() / spread)


def bench_agreement(model: nn.Module,
                    data_root: str,
                    device: torch.device,
                    batch: int,
                    fit_views: int,
                    eval_views: int,
                    checkpoint: Optional[str] = None,
                    calib_views: int = 64) -> Dict[str, object]:
    """Top-1 agreement of fp32 and bf16-autocast predictions.

    Args:
        model (nn.Module): Recognizer (its classifier is replaced by a
            fitted probe unless ``checkpoint`` is given).
        data_root (str): DFEW-layout root.
        device (torch.device): Device.
        batch (int): Clips per forward pass.
        fit_views (int): Views to fit the probe on.
        eval_views (int): Other views to compare predictions on.
        checkpoint (str, optional): The weights loaded into ``model``
            (recorded only; loading is the caller's).
        calib_views (int): Further views to estimate the BN statistics of
            a random-initialised model on (:func:`calibrate_bn`); not used
            with ``checkpoint``. 0 skips the calibration. Defaults to 64.

    Returns:
        dict: ``top1_agreement``, ``views``, ``max_abs_score_diff``,
        ``distinct_fp32_classes``, ``fp32_accuracy`` (vs. the clips' labels),
        ``probe_train_accuracy``, ``weights`` (what was compared),
        ``feature_noise_to_spread``, ``max_margin_of_disagreements`` (the
        largest fp32 top-2 probability margin among views whose top-1
        differs) and ``views_with_margin_below_2x_error`` (views whose
        fp32 margin is below twice ``max_abs_score_diff``).
    """
    result: Dict[str, object] = {}
    if not checkpoint and calib_views > 0:
        calibrate_bn(model, draw_views(data_root, calib_views, seed=3), batch,
                     device)
    views = draw_views(data_root, fit_views, seed=1)
    fp32, labels = clip_features(model, views, batch, device, 'fp32')
    bf16, _ = clip_features(model, views, batch, device, 'bf16')
    result['feature_noise_to_spread'] = noise_to_spread(fp32, bf16)
    if checkpoint:
        result['weights'] = f'checkpoint {checkpoint}'
    else:
        result['probe_train_accuracy'] = fit_linear_probe(model, fp32, labels)
        calibrated = (f'BN statistics estimated on {calib_views} other '
                      'views, ' if calib_views > 0 else '')
        result['weights'] = (f'random-init backbone+neck, {calibrated}'
                             'linear-probe classifier fitted on '
                             f'{fit_views} views')
    views = draw_views(data_root, eval_views, seed=2)
    scores = {'fp32': [], 'bf16': []}
    labels: List[int] = []
    for data in _batches(views, batch):
        labels += [int(s.gt_label) for s in data['data_samples']]
        for precision in scores:
            samples = inference_step(model, data, device, precision)()
            scores[precision].append(
                torch.stack([s.pred_score.float().cpu() for s in samples]))
    fp32 = torch.cat(scores['fp32'])
    bf16 = torch.cat(scores['bf16'])
    top_fp32, top_bf16 = fp32.argmax(1), bf16.argmax(1)
    labels_t = torch.tensor(labels)
    result.update(
        top1_agreement=float((top_fp32 == top_bf16).float().mean()),
        views=len(labels),
        disagreements=int((top_fp32 != top_bf16).sum()),
        max_abs_score_diff=float((fp32 - bf16).abs().max()),
        distinct_fp32_classes=int(top_fp32.unique().numel()),
        fp32_accuracy=float((top_fp32 == labels_t).float().mean()),
        bf16_accuracy=float((top_bf16 == labels_t).float().mean()))
    # Where the disagreements sit: the fp32 probability margin between the
    # top two classes of each disagreeing view, against the largest bf16
    # score error over all views. Flips at margins below twice that error
    # are near-ties that any rounding can reorder.
    top2 = fp32.topk(2, dim=1).values
    margin = top2[:, 0] - top2[:, 1]
    differ = top_fp32 != top_bf16
    err = result['max_abs_score_diff']
    result.update(
        max_margin_of_disagreements=float(margin[differ].max())
        if bool(differ.any()) else 0.,
        views_with_margin_below_2x_error=int((margin < 2 * err).sum()))
    return result


def trained_stt_agreement(train_clips: int = 64,
                          eval_clips: int = 1000,
                          max_epochs: int = 40) -> Dict[str, object]:
    """bf16 vs fp32 agreement of a *trained* small STT.

    The only trained STT this machine can make without licensed data:
    :data:`mmstt.testing.ORDER_STT` (2 blocks, 32 wide, 8 frames of 32x32)
    trained in fp32 on the frame-order task of :mod:`mmstt.testing` until
    95 % training accuracy, then run on ``2 * eval_clips`` new clips in fp32
    and under bf16 autocast. Same kernels as the full model (1x1-conv
    linear layers, matmul attention with a float32 softmax, folded BN,
    separable stem max-pool); a smaller model and 2 classes.

    Args:
        train_clips (int): Base clips to train on (``2 *`` that views).
        eval_clips (int): Base clips to compare on.
        max_epochs (int): Training epoch limit.

    Returns:
        dict: ``top1_agreement``, ``views``, ``disagreements``,
        ``max_abs_score_diff``, ``train_accuracy``, ``fp32_accuracy`` and
        ``seconds`` (training and evaluation).
    """
    from mmstt.testing import (build_order_stt, make_order_clips, order_logits,
                               train_order_stt)
    start = time.perf_counter()
    inputs, labels = make_order_clips(train_clips, seed=0)
    model = build_order_stt(temporal=True)
    train_acc = train_order_stt(model, inputs, labels, max_epochs)
    inputs, labels = make_order_clips(eval_clips, seed=7)
    fp32 = order_logits(model, inputs).softmax(1)
    bf16 = order_logits(model, inputs, bf16=True).softmax(1)
    differ = fp32.argmax(1) != bf16.argmax(1)
    return dict(
        top1_agreement=float(1 - differ.float().mean()),
        views=len(labels),
        disagreements=int(differ.sum()),
        max_abs_score_diff=float((fp32 - bf16).abs().max()),
        train_accuracy=train_acc,
        fp32_accuracy=float((fp32.argmax(1) == labels).float().mean()),
        seconds=time.perf_counter() - start)
