# Copyright (c) OpenMMLab. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmaction.structures import ActionDataSample

import mmstt  # noqa: F401
from mmstt.models.heads import STTHead


def _samples(labels):
    return [ActionDataSample().set_gt_label(torch.tensor(i)) for i in labels]


def _feats(n=6, d=16, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_forward_shape_and_defaults():
    head = STTHead(in_channels=16)
    assert head.num_classes == 7 and head.average_clips == 'prob'
    assert head.dropout is None
    assert head.loss_cls.centers.shape == (7, 16)
    assert head(_feats()).shape == (6, 7)
    with_drop = STTHead(in_channels=16, dropout_ratio=0.5)
    assert isinstance(with_drop.dropout, torch.nn.Dropout)


def test_loss_passes_clip_embedding_to_compact_loss():
    head = STTHead(
        in_channels=16,
        loss_cls=dict(type='CompactSoftmaxLoss', loss_lambda=0.5))
    feats = _feats()
    labels = [0, 1, 2, 3, 4, 6]
    losses = head.loss(feats, _samples(labels))
    assert set(losses) == {'loss_ce', 'loss_compact', 'top1_acc'}
    scores = head(feats)
    target = torch.tensor(labels)
    assert torch.allclose(losses['loss_ce'], F.cross_entropy(scores, target))
    centres = head.loss_cls.centers
    intra = (feats - centres[target]).pow(2).sum(1).mean()
    inter = (centres[:, None] - centres[None]).pow(2).sum(-1).sum() / 42
    assert torch.allclose(losses['loss_compact'], 0.5 * intra / (inter + 1e-6))
    acc = (scores.argmax(1) == target).float().mean()
    assert losses['top1_acc'].item() == pytest.approx(acc.item())
    (losses['loss_ce'] + losses['loss_compact']).backward()
    assert head.loss_cls.centers.grad is not None
    assert head.fc_cls.weight.grad is not None


def test_label_smoothing():
    head = STTHead(in_channels=16, label_smooth_eps=0.2)
    feats = _feats()
    labels = [0, 1, 2, 3, 4, 5]
    losses = head.loss(feats, _samples(labels))
    expect = F.cross_entropy(
        head(feats), torch.tensor(labels), label_smoothing=0.2)
    assert torch.allclose(losses['loss_ce'], expect)


def test_plain_cross_entropy_loss_falls_back_to_base_head():
    head = STTHead(
        in_channels=16,
        loss_cls=dict(type='CrossEntropyLoss'),
        label_smooth_eps=0.1)
    feats = _feats()
    labels = [0, 1, 2, 3, 4, 5]
    losses = head.loss(feats, _samples(labels))
    assert 'loss_cls' in losses and 'loss_compact' not in losses
    soft = F.one_hot(torch.tensor(labels), 7) * 0.9 + 0.1 / 7
    assert torch.allclose(losses['loss_cls'],
                          F.cross_entropy(head(feats), soft))


def test_predict_averages_views_as_probabilities():
    head = STTHead(in_channels=16)
    feats = _feats(n=6)  # 2 samples x 3 views
    samples = head.predict(feats, _samples([1, 2]))
    probs = F.softmax(head(feats), dim=1).view(2, 3, 7).mean(1)
    for sample, expect in zip(samples, probs):
        assert sample.pred_score.shape == (7, )
        assert torch.allclose(sample.pred_score, expect)
        assert sample.pred_label.item() == expect.argmax().item()
        assert sample.pred_score.sum().item() == pytest.approx(1.)


def test_registered_and_fills_loss_sizes():
    from mmaction.registry import MODELS
    head = MODELS.build(
        dict(
            type='STTHead',
            num_classes=5,
            in_channels=8,
            loss_cls=dict(type='CompactSoftmaxLoss')))
    assert head.loss_cls.centers.shape == (5, 8)


def test_classifier_runs_in_fp32_under_autocast():
    head = STTHead(in_channels=16, init_std=1.)
    feats = _feats().bfloat16()
    expect = F.linear(feats.float(), head.fc_cls.weight, head.fc_cls.bias)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        scores = head(feats)
    assert scores.dtype == torch.float32
    assert torch.equal(scores, expect)
    head.fp32_classifier = False
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert head(feats).dtype == torch.bfloat16
    # Without autocast nothing changes.
    assert torch.equal(head(_feats()), head.fc_cls(_feats()))
