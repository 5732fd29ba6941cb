# Copyright (c) OpenMMLab. All rights reserved.
import os
import os.path as osp
import socket

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F

import mmstt  # noqa: F401
from mmstt.models.losses import CompactSoftmaxLoss


def _batch(n=6, k=3, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, k,
                        generator=g), torch.randint(0, k, (n, ), generator=g),
            torch.randn(n, d, generator=g))


def _hand_centres(loss):
    with torch.no_grad():
        loss.centers.copy_(torch.tensor([[0., 0.], [2., 0.], [0., 2.]]))


def test_lambda_zero_is_exactly_cross_entropy():
    scores, labels, feats = _batch(k=7, d=16)
    loss = CompactSoftmaxLoss(num_classes=7, feat_dim=16, loss_lambda=0.)
    out = loss(scores, labels, feats=feats)
    total = out['loss_ce'] + out['loss_compact']
    assert torch.equal(total, F.cross_entropy(scores, labels))
    assert out['loss_compact'].item() == 0.


def test_value_matches_formula_on_hand_made_features():
    loss = CompactSoftmaxLoss(
        num_classes=3, feat_dim=2, loss_lambda=0.5, eps=1e-6)
    _hand_centres(loss)
    feats = torch.tensor([[1., 0.], [2., 1.], [0., 0.], [0., 3.]])
    labels = torch.tensor([0, 1, 0, 2])
    scores = torch.zeros(4, 3)
    out = loss(scores, labels, feats=feats)
    # Squared distances to own centre: 1, 1, 0, 1 -> mean 3/4.
    # Ordered pairs: |c0-c1|^2 = 4, |c0-c2|^2 = 4, |c1-c2|^2 = 8, each twice
    # -> 32 / (3 * 2) = 16/3.
    expect = 0.5 * (3 / 4) / (16 / 3 + 1e-6)
    assert out['loss_compact'].item() == pytest.approx(expect, rel=1e-6)
    assert out['loss_ce'].item() == pytest.approx(
        torch.log(torch.tensor(3.)).item())


def test_gradcheck_double():
    loss = CompactSoftmaxLoss(
        num_classes=3, feat_dim=4, loss_lambda=0.3).double()
    scores, labels, feats = _batch(n=5, k=3, d=4)
    scores = scores.double().requires_grad_()
    feats = feats.double().requires_grad_()
    centres = loss.centers.detach().clone().requires_grad_()

    def fn(s, f, c):
        loss.centers.data = c
        out = loss(s, labels, feats=f)
        return out['loss_ce'] + out['loss_compact']

    # The functional form only sees ``c`` through ``loss.centers``; check
    # against the explicit formula as a function of all three inputs.
    def explicit(s, f, c):
        intra = (f - c[labels]).pow(2).sum(1).mean()
        inter = (c[:, None] - c[None]).pow(2).sum(-1).sum() / 6
        return F.cross_entropy(s, labels) + 0.3 * intra / (inter + 1e-6)

    assert torch.allclose(
        fn(scores, feats, centres), explicit(scores, feats, centres))
    assert torch.autograd.gradcheck(explicit, (scores, feats, centres))

    # And the module's own gradients equal the explicit ones.
    loss.centers = torch.nn.Parameter(centres.detach().clone())
    out = loss(scores, labels, feats=feats)
    grads = torch.autograd.grad(out['loss_ce'] + out['loss_compact'],
                                (scores, feats, loss.centers))
    expect = torch.autograd.grad(
        explicit(scores, feats, centres), (scores, feats, centres))
    for g, e in zip(grads, expect):
        assert torch.allclose(g, e)


def test_gradcheck_module_in_double():
    loss = CompactSoftmaxLoss(
        num_classes=4, feat_dim=3, loss_lambda=0.7).double()
    scores, labels, feats = _batch(n=6, k=4, d=3, seed=2)

    def fn(s, f):
        out = loss(s, labels, feats=f)
        return out['loss_ce'] + out['loss_compact']

    assert torch.autograd.gradcheck(
        fn,
        (scores.double().requires_grad_(), feats.double().requires_grad_()))


def test_centres_are_parameters_and_receive_gradients():
    loss = CompactSoftmaxLoss(num_classes=3, feat_dim=2)
    assert any(p is loss.centers for p in loss.parameters())
    scores, labels, feats = _batch()
    out = loss(scores, labels, feats=feats)
    out['loss_compact'].backward()
    assert loss.centers.grad is not None
    assert loss.centers.grad.abs().sum() > 0


def test_label_smoothing_class_weight_and_soft_labels():
    scores, labels, feats = _batch(k=3)
    weight = [1., 2., 0.5]
    loss = CompactSoftmaxLoss(
        num_classes=3, feat_dim=2, label_smoothing=0.1, class_weight=weight)
    out = loss(scores, labels, feats=feats)
    expect = F.cross_entropy(
        scores, labels, weight=torch.tensor(weight), label_smoothing=0.1)
    assert torch.allclose(out['loss_ce'], expect)
    # A call-time override (used by STTHead's label_smooth_eps).
    out = loss(scores, labels, feats=feats, label_smoothing=0.3)
    expect = F.cross_entropy(
        scores, labels, weight=torch.tensor(weight), label_smoothing=0.3)
    assert torch.allclose(out['loss_ce'], expect)
    # Soft targets: CE with probabilities, argmax picks the centre.
    soft = F.one_hot(labels, 3).float() * 0.8 + 0.2 / 3
    plain = CompactSoftmaxLoss(num_classes=3, feat_dim=2)
    out_soft = plain(scores, soft, feats=feats)
    out_hard = plain(scores, labels, feats=feats)
    assert torch.allclose(out_soft['loss_ce'], F.cross_entropy(scores, soft))
    assert torch.allclose(out_soft['loss_compact'], out_hard['loss_compact'])


def test_loss_weight_scales_both_terms():
    scores, labels, feats = _batch()
    a = CompactSoftmaxLoss(num_classes=3, feat_dim=2)
    b = CompactSoftmaxLoss(num_classes=3, feat_dim=2, loss_weight=2.)
    b.load_state_dict(a.state_dict())
    oa, ob = a(scores, labels, feats=feats), b(scores, labels, feats=feats)
    for key in ('loss_ce', 'loss_compact'):
        assert torch.allclose(2 * oa[key], ob[key])


def test_without_features_only_cross_entropy():
    scores, labels, _ = _batch()
    out = CompactSoftmaxLoss(num_classes=3, feat_dim=2)(scores, labels)
    assert torch.allclose(out['loss_ce'], F.cross_entropy(scores, labels))
    assert out['loss_compact'].item() == 0.


def test_center_variant_value_and_moving_average_update():
    loss = CompactSoftmaxLoss(
        num_classes=3, feat_dim=2, loss_lambda=1., variant='center', alpha=0.5)
    assert not isinstance(loss.centers, torch.nn.Parameter)
    assert all(p is not loss.centers for p in loss.parameters())
    _hand_centres(loss)
    feats = torch.tensor([[1., 0.], [2., 1.], [0., 0.], [0., 3.]])
    labels = torch.tensor([0, 1, 0, 2])
    feats.requires_grad_()
    out = loss(torch.zeros(4, 3), labels, feats=feats)
    # Numerator only: mean squared distance 3/4.
    assert out['loss_compact'].item() == pytest.approx(0.75)
    # c_k <- c_k - alpha * sum_{y_i=k}(c_k - f_i) / (1 + n_k)
    # class 0: f = (1, 0), (0, 0): sum(c - f) = (-1, 0), / 3, * 0.5
    # class 1: f = (2, 1): (0, -1) / 2 * 0.5; class 2: f = (0, 3): same.
    expect = torch.tensor([[1 / 6, 0.], [2., 0.25], [0., 2.25]])
    assert torch.allclose(loss.centers, expect)
    # Gradient flows to the features, not to the centres.
    out['loss_compact'].backward()
    assert feats.grad is not None
    # No update in eval mode.
    loss.eval()
    before = loss.centers.clone()
    loss(torch.zeros(4, 3), labels, feats=feats.detach())
    assert torch.equal(before, loss.centers)


def test_bad_arguments():
    with pytest.raises(ValueError, match='variant'):
        CompactSoftmaxLoss(variant='triplet')
    with pytest.raises(ValueError, match='class_weight'):
        CompactSoftmaxLoss(num_classes=3, class_weight=[1., 2.])
    loss = CompactSoftmaxLoss(num_classes=3, feat_dim=2)
    with pytest.raises(ValueError, match='feats'):
        loss(
            torch.zeros(4, 3),
            torch.zeros(4, dtype=torch.long),
            feats=torch.zeros(3, 2))


def test_registered():
    from mmaction.registry import MODELS
    loss = MODELS.build(dict(type='CompactSoftmaxLoss'))
    assert loss.loss_lambda == 0.01 and loss.eps == 1e-6
    assert loss.centers.shape == (7, 512)
    assert 'formalisation' in CompactSoftmaxLoss.__doc__


# ---------------------------------------------------------------------------
# Centre variant across 2 processes (gloo): centres stay identical and equal
# a single process's update on the union of the batches.
# ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _rank_feats(rank: int, step: int):
    g = torch.Generator().manual_seed(100 * step + rank)
    return torch.randn(
        5, 4, generator=g), torch.randint(
            0, 3, (5, ), generator=g)


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    import torch.distributed as tdist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    tdist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        # Different seeds: the ranks start from different random centres;
        # the first update broadcasts rank 0's.
        torch.manual_seed(rank)
        loss = CompactSoftmaxLoss(
            num_classes=3, feat_dim=4, variant='center', alpha=0.5)
        for step in range(3):
            feats, labels = _rank_feats(rank, step)
            loss(torch.zeros(5, 3), labels, feats=feats)
        torch.save(
            dict(centers=loss.centers.clone()),
            osp.join(out_dir, f'rank{rank}.pth'))
    finally:
        tdist.destroy_process_group()


def test_center_variant_identical_across_ranks(tmp_path):
    port = _free_port()
    mp.spawn(_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    c0 = torch.load(tmp_path / 'rank0.pth', weights_only=True)['centers']
    c1 = torch.load(tmp_path / 'rank1.pth', weights_only=True)['centers']
    assert torch.equal(c0, c1)
    # Single process on the union of both ranks' batches, from rank 0's
    # initial centres.
    torch.manual_seed(0)
    single = CompactSoftmaxLoss(
        num_classes=3, feat_dim=4, variant='center', alpha=0.5)
    start = single.centers.clone()
    for step in range(3):
        f0, l0 = _rank_feats(0, step)
        f1, l1 = _rank_feats(1, step)
        single(
            torch.zeros(10, 3), torch.cat([l0, l1]), feats=torch.cat([f0, f1]))
    assert torch.allclose(c0, single.centers, atol=1e-6)
    assert not torch.allclose(c0, start)
