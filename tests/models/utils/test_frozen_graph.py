# Copyright (c) OpenMMLab. All rights reserved.
import copy
import pickle

import pytest
import torch

from mmstt.models.utils.frozen_graph import FrozenGraph, pad_batch


class _Scale(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(2.))

    def scaled(self, x):
        return x * self.weight


def test_frozen_graph_runs_eagerly_under_autograd(monkeypatch):
    """Where autograd records, nothing is compiled (freezing would cut the
    weights out of the graph) and gradients reach the weights."""
    monkeypatch.setattr(torch, 'compile', pytest.fail)
    module, graph = _Scale().eval(), FrozenGraph(_Scale.scaled)
    out = graph(module, torch.ones(3))
    out.sum().backward()
    assert module.weight.grad == 3 and graph._compiled is None


def test_frozen_graph_runs_eagerly_in_training_mode(monkeypatch):
    """In training mode (BN normalising by the batch, which padding would
    change) nothing is compiled, also without autograd."""
    monkeypatch.setattr(torch, 'compile', pytest.fail)
    module, graph = _Scale().train(), FrozenGraph(_Scale.scaled)
    with torch.no_grad():
        assert torch.equal(graph(module, torch.ones(3)), torch.full((3, ), 2.))
    assert graph._compiled is None


@pytest.mark.parametrize('when', ['call', 'wrap'])
def test_frozen_graph_falls_back_with_a_warning(monkeypatch, when):
    """A failing compilation (at the first call, or torch.compile itself
    refusing) warns with its error once, then runs eager."""

    def broken(fn, **kwargs):
        if when == 'wrap':
            raise RuntimeError('no C++ compiler')

        def call(*args):
            raise RuntimeError('no C++ compiler')

        return call

    monkeypatch.setattr(torch, 'compile', broken)
    module, graph = _Scale().eval(), FrozenGraph(_Scale.scaled)
    with torch.no_grad():
        with pytest.warns(UserWarning, match='no C.. compiler'):
            first = graph(module, torch.ones(2))
        second = graph(module, torch.ones(2))
    assert graph.failed
    assert torch.equal(first, torch.full((2, ), 2.))
    assert torch.equal(second, first)


def test_frozen_graph_compiles_again_when_weights_change(monkeypatch):
    """A graph is kept while the weights are unchanged; an in-place write,
    a new tensor or a write through .data compiles afresh (after dropping
    the old graphs)."""
    compiled, resets = [], []

    def fake_compile(fn, **kwargs):
        compiled.append(fn)
        return fn

    monkeypatch.setattr(torch, 'compile', fake_compile)
    monkeypatch.setattr(torch.compiler, 'reset', lambda: resets.append(1))
    module, graph = _Scale().eval(), FrozenGraph(_Scale.scaled)
    with torch.no_grad():
        graph(module, torch.ones(1))
        graph(module, torch.ones(1))
        assert len(compiled) == 1 and not resets
        module.weight.mul_(3)
        assert graph(module, torch.ones(1)) == 6
        module.weight = torch.nn.Parameter(torch.tensor(5.))
        assert graph(module, torch.ones(1)) == 5
        # A write through .data keeps the version counter.
        module.weight.data.copy_(torch.tensor(7.))
        assert graph(module, torch.ones(1)) == 7
    assert len(compiled) == 4 and len(resets) == 3


def test_frozen_graph_keeps_the_graph_of_nan_weights(monkeypatch):
    """NaN weights (NaN != NaN) must not compile again on every call."""
    compiled = []
    monkeypatch.setattr(torch, 'compile',
                        lambda fn, **kw: compiled.append(fn) or fn)
    module, graph = _Scale().eval(), FrozenGraph(_Scale.scaled)
    module.weight.data.fill_(float('nan'))
    with torch.no_grad():
        for _ in range(3):
            assert graph(module, torch.ones(1)).isnan().all()
    assert len(compiled) == 1


def test_frozen_graph_pads_smaller_batches_into_a_compiled_size(monkeypatch):
    """Static graphs: a batch larger than any so far compiles one; a
    smaller batch runs in the smallest graph that holds it, padded with its
    last sample, the padded rows dropped."""
    seen, options = [], []

    def fake_compile(fn, **kwargs):
        options.append(kwargs)

        def call(module, x):
            seen.append(tuple(x.shape))
            return fn(module, x)

        return call

    monkeypatch.setattr(torch, 'compile', fake_compile)
    module, graph = _Scale().eval(), FrozenGraph(_Scale.scaled)
    x = torch.arange(14.).view(7, 2)
    with torch.no_grad():
        assert torch.equal(graph(module, x[:4]), 2 * x[:4])
        assert torch.equal(graph(module, x[4:]), 2 * x[4:])
        assert torch.equal(graph(module, x[:1]), 2 * x[:1])
        assert torch.equal(graph(module, x[1:]), 2 * x[1:])
        assert torch.equal(graph(module, x[:5]), 2 * x[:5])
        assert torch.equal(graph(module, x[:2]), 2 * x[:2])
        assert graph(module, x[:0]).shape == (0, 2)
    assert seen == [(4, 2)] * 3 + [(6, 2)] * 2 + [(4, 2)]
    assert graph._batches == [4, 6]
    assert options == [dict(dynamic=False)]


def test_pad_batch_repeats_the_last_sample():
    x = torch.arange(6.).view(3, 2)
    padded = pad_batch(x, 5)
    assert torch.equal(padded[:3], x)
    assert torch.equal(padded[3:], x[2:].expand(2, 2))
    assert pad_batch(x, 3) is x and pad_batch(x, 2) is x


def test_frozen_graph_copies_drop_the_graph():
    graph = FrozenGraph(_Scale.scaled)
    graph._compiled, graph._weights = (lambda *a: None), (1, )
    graph._batches = [8]
    for clone in (copy.deepcopy(graph), pickle.loads(pickle.dumps(graph))):
        assert clone._compiled is None and clone._weights is None
        assert clone._batches == []
        assert clone.fn is _Scale.scaled
