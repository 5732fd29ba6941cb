# Copyright (c) OpenMMLab. All rights reserved.
"""STT models time: clips whose class is only their frame order.

The task and the small STT are :mod:`mmstt.testing.order_task`. The STT
learns it on CPU; the same model without temporal attention and temporal
embedding sees the two clips of a pair as identical and stays at chance.
"""
import pytest
import torch

from mmstt.testing import (build_order_stt, make_order_clips, order_logits,
                           train_order_stt)


@pytest.fixture(scope='module')
def order_data():
    return make_order_clips(64, seed=0)


@pytest.fixture(scope='module')
def trained_stt(order_data):
    inputs, labels = order_data
    model = build_order_stt(temporal=True)
    acc = train_order_stt(model, inputs, labels, max_epochs=40)
    return model, acc


@pytest.mark.slow
def test_stt_learns_frame_order(trained_stt):
    _, acc = trained_stt
    assert acc >= 0.9, f'train accuracy {acc:.3f}'


@pytest.mark.slow
def test_without_temporal_parts_stays_at_chance(order_data):
    inputs, labels = order_data
    model = build_order_stt(temporal=False)
    acc = train_order_stt(model, inputs, labels, max_epochs=15)
    assert acc <= 0.6, f'train accuracy {acc:.3f}'
    # The two clips of a pair are indistinguishable to it.
    logits = order_logits(model, inputs)
    assert torch.allclose(logits[:64], logits[64:], atol=1e-4)


@pytest.mark.slow
def test_bf16_autocast_agrees_with_fp32(trained_stt):
    model, _ = trained_stt
    inputs, labels = make_order_clips(150, seed=7)
    fp32 = order_logits(model, inputs)
    bf16 = order_logits(model, inputs, bf16=True)
    agree = (fp32.argmax(1) == bf16.argmax(1)).float().mean().item()
    assert agree >= 0.99, f'top-1 agreement {agree:.4f}'
    # It generalises to new clips, too (not needed for the agreement).
    assert (fp32.argmax(1) == labels).float().mean() > 0.8
