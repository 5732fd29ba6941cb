# Copyright (c) OpenMMLab. All rights reserved.
import copy
from unittest.mock import MagicMock

import pytest
import torch
import torch.nn.functional as F
from mmaction.structures import ActionDataSample
from mmaction.utils import register_all_modules
from mmengine import Config

import mmstt  # noqa: F401

NUM_CLASSES = 7
TINY = dict(
    type='STTRecognizer',
    backbone=dict(type='ResNetTokenizer', out_stage=2, base_channels=8),
    neck=dict(
        type='SpatioTemporalTransformer',
        in_channels=16,
        embed_dims=32,
        num_frames=4,
        grid_size=(4, 4),
        depth=1,
        num_heads=2,
        output='cls'),
    cls_head=dict(
        type='STTHead',
        num_classes=NUM_CLASSES,
        in_channels=32,
        loss_cls=dict(type='CompactSoftmaxLoss'),
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        format_shape='NCTHW'))


def _build(cfg=None):
    from mmaction.registry import MODELS
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(cfg or TINY))


def _batch(n=2, views=1, frames=4, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randint(
            0,
            256, (views, 3, frames, size, size),
            dtype=torch.uint8,
            generator=g) for _ in range(n)
    ]
    samples = [
        ActionDataSample().set_gt_label(torch.tensor(i % NUM_CLASSES))
        for i in range(n)
    ]
    return dict(inputs=inputs, data_samples=samples)


def test_train_step():
    model = _build()
    optim_wrapper = MagicMock()
    losses = model.train_step(_batch(), optim_wrapper)
    assert {'loss', 'loss_ce', 'loss_compact', 'top1_acc'} <= set(losses)
    assert torch.allclose(losses['loss'],
                          losses['loss_ce'] + losses['loss_compact'])
    optim_wrapper.update_params.assert_called_once()


def test_loss_mode_backpropagates_to_all_trainable_parts():
    model = _build()
    data = model.data_preprocessor(_batch(), training=True)
    losses = model(**data, mode='loss')
    (losses['loss_ce'] + losses['loss_compact']).backward()
    for name in ('backbone.conv1.weight', 'neck.token_proj.weight',
                 'neck.cls_token', 'cls_head.fc_cls.weight',
                 'cls_head.loss_cls.centers'):
        param = dict(model.named_parameters())[name]
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_test_step_single_and_multi_view():
    model = _build().eval()
    with torch.no_grad():
        preds = model.test_step(_batch(n=2, views=1))
    assert len(preds) == 2
    for pred in preds:
        assert pred.pred_score.shape == (NUM_CLASSES, )
        assert pred.pred_score.sum().item() == pytest.approx(1., abs=1e-5)
        assert (pred.pred_score >= 0).all()
    batch = _batch(n=2, views=3)
    with torch.no_grad():
        preds = model.test_step(copy.deepcopy(batch))
        data = model.data_preprocessor(batch, training=False)
        logits = model(data['inputs'], mode='tensor')
    assert logits.shape == (6, NUM_CLASSES)
    expect = F.softmax(logits, dim=1).view(2, 3, NUM_CLASSES).mean(1)
    for pred, score in zip(preds, expect):
        assert pred.pred_score.shape == (NUM_CLASSES, )
        assert torch.allclose(pred.pred_score, score, atol=1e-6)
        assert pred.pred_label.item() == score.argmax().item()


def test_tensor_mode_stages_and_input_check():
    model = _build().eval()
    data = model.data_preprocessor(_batch(n=2, views=2), training=False)
    x = data['inputs']
    assert x.shape == (2, 2, 3, 4, 32, 32)
    assert x.max() <= 1.0  # divided by 255
    with torch.no_grad():
        assert model(
            x, mode='tensor', stage='backbone').shape == (4, 16, 4, 4, 4)
        assert model(x, mode='tensor', stage='neck').shape == (4, 32)
        assert model(x, mode='tensor').shape == (4, NUM_CLASSES)
    with pytest.raises(ValueError, match='num_views'):
        model(x[:, 0], mode='tensor')
    with pytest.raises(ValueError, match='stage'):
        model(x, mode='tensor', stage='pixels')


def test_max_testing_views_gives_same_predictions():
    cfg = copy.deepcopy(TINY)
    cfg['test_cfg'] = dict(max_testing_views=2)
    chunked = _build(cfg).eval()
    whole = _build().eval()
    batch = _batch(n=1, views=5)
    with torch.no_grad():
        a = chunked.test_step(copy.deepcopy(batch))[0].pred_score
        b = whole.test_step(batch)[0].pred_score
    assert torch.allclose(a, b, atol=1e-5)


def test_backbone_and_neck_trace_as_one_graph():
    """torch.compile sees the kernel switch, backbone and neck as one graph
    (the switch's context variable is left alone while tracing)."""
    from mmstt.models.recognizers import STTRecognizer
    model = _build().eval()
    inputs = model.data_preprocessor(_batch())['inputs'].flatten(0, 1)
    torch._dynamo.reset()
    with torch.no_grad():
        report = torch._dynamo.explain(STTRecognizer.embed_clips)(model,
                                                                  inputs)
    assert report.graph_count == 1 and report.graph_break_count == 0


@pytest.mark.slow
def test_compiled_prediction_matches_eager_and_follows_the_weights():
    """test_cfg.compile=True predicts as the eager model does, also for a
    smaller batch (padded into the same graph) and after the weights are
    written through .data (the frozen graph is rebuilt)."""
    from torch._dynamo.utils import counters
    cfg = copy.deepcopy(TINY)
    cfg['test_cfg'] = dict(compile=True)
    compiled, eager = _build(cfg).eval(), _build().eval()
    eager.load_state_dict(compiled.state_dict())
    batch = _batch(n=3)

    def scores(model, batch=batch):
        with torch.no_grad():
            samples = model.test_step(copy.deepcopy(batch))
        return torch.stack([s.pred_score for s in samples])

    before = scores(compiled)
    assert compiled.frozen_graph._compiled is not None
    graphs = counters['stats']['unique_graphs']
    last = _batch(n=2, seed=1)
    assert torch.allclose(
        scores(compiled, last), scores(eager, last), atol=1e-5)
    assert counters['stats']['unique_graphs'] == graphs
    # Every linear layer is a GEMM of its frozen weight, none a batched
    # matmul of a weight broadcast over the batch (as bf16 showed).
    with torch.profiler.profile() as prof, torch.autocast('cpu'):
        scores(compiled)
    assert 'aten::bmm' not in {e.key for e in prof.key_averages()}
    assert not compiled.frozen_graph.failed
    assert torch.allclose(before, scores(eager), atol=1e-5)
    for model in (compiled, eager):
        # Through .data, as MMEngine's EMA hook swaps weights: the version
        # counter stays, the norm changes.
        model.neck.norm.weight.data.mul_(4.)
    after = scores(compiled)
    assert torch.allclose(after, scores(eager), atol=1e-5)
    assert not torch.allclose(after, before, atol=1e-3)


def test_kernel_switch_holds_for_the_whole_model():
    cfg = copy.deepcopy(TINY)
    cfg['neck']['kernel'] = 'reference'
    plain = _build(cfg).eval()
    auto = _build().eval()
    assert auto.neck.kernel == 'auto'
    data = auto.data_preprocessor(_batch(n=3))
    with torch.no_grad():
        a = auto(data['inputs'], mode='tensor')
        b = plain(data['inputs'], mode='tensor')
    assert torch.allclose(a, b, atol=1e-5)


def test_paper_config_builds_with_paper_settings():
    cfg = Config.fromfile('configs/_base_/models/stt_r18.py')
    model = _build(cfg.model)
    assert model.backbone.out_stage == 3 and model.backbone.depth == 18
    neck = model.neck
    assert (neck.embed_dims, len(neck.blocks), neck.output) == (512, 4, 'cls')
    assert neck.blocks[0].spatial_attn.num_heads == 8
    assert neck.blocks[0].mlp.fc1.out_features == 4 * 512
    assert neck.blocks[-1].drop_path.drop_prob == pytest.approx(0.1)
    assert neck.num_frames == 16 and neck.grid_size == (7, 7)
    assert model.cls_head.loss_cls.loss_lambda == 0.01
    assert model.cls_head.fc_cls.out_features == 7
    assert model.cls_head.average_clips == 'prob'
    # 16 x 112 x 112 -> 16 x 7 x 7 tokens of 256 channels -> 7 scores.
    x = torch.rand(1, 1, 3, 16, 112, 112)
    with torch.no_grad():
        feats = model.eval()(x, mode='tensor', stage='backbone')
        assert feats.shape == (1, 256, 16, 7, 7)
        assert model(x, mode='tensor').shape == (1, 7)
