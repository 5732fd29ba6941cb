# Copyright (c) OpenMMLab. All rights reserved.
"""What the ONNX graph computes, checked without exporting."""
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

from mmstt.apis.onnx_export import (ProbabilityModel, config_class_names,
                                    export_onnx, input_spec, reference_model)
from mmstt.datasets import DFER_CLASSES
from .helpers import tiny_config


def _model(cfg):
    init_default_scope('mmaction')
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def test_probability_model_includes_the_data_preprocessor():
    cfg = tiny_config()
    # A preprocessor with every step the graph must carry: BGR->RGB flip
    # and per-channel mean/std.
    cfg.model.data_preprocessor.update(
        mean=[100., 110., 120.], std=[50., 60., 70.], to_rgb=True)
    model = _model(cfg)
    clips = torch.rand(3, 3, 8, 32, 32) * 255
    data = dict(
        inputs=[c[None] for c in clips],
        data_samples=[ActionDataSample() for _ in range(3)])
    with torch.no_grad():
        want = torch.stack([s.pred_score for s in model.test_step(data)])
        got = ProbabilityModel(reference_model(model, cfg))(clips)
    assert got.shape == (3, 7)
    assert torch.allclose(got.sum(-1), torch.ones(3), atol=1e-6)
    assert (got - want).abs().max() <= 1e-5
    # The preprocessing matters: without the flip the scores differ.
    flipped = ProbabilityModel(reference_model(model, cfg))
    flipped.to_rgb = False
    with torch.no_grad():
        assert (flipped(clips) - want).abs().max() > 1e-6


def test_reference_model_has_reference_kernels_and_same_weights():
    cfg = tiny_config()
    model = _model(cfg)
    ref = reference_model(model, cfg)
    assert ref.neck.kernel == 'reference' and model.neck.kernel == 'auto'
    for (name, a), (_, b) in zip(model.state_dict().items(),
                                 ref.state_dict().items()):
        assert torch.equal(a, b), name


def test_config_defaults():
    cfg = tiny_config(clip_len=6, size=40)
    assert input_spec(cfg) == (6, (40, 40))
    assert config_class_names(cfg) == list(DFER_CLASSES)


def test_export_refuses_bad_class_names_and_opsets(tmp_path):
    cfg = tiny_config(num_classes=11)
    model = _model(cfg)
    out = str(tmp_path / 'm.onnx')
    # The config's data set has 7 classes, the head 11.
    with pytest.raises(ValueError, match='11 classes but the class names'):
        export_onnx(model, cfg, out)
    with pytest.raises(ValueError, match='opset 17'):
        export_onnx(model, cfg, out, opset=17, class_names=['a'] * 11)
    assert not (tmp_path / 'm.onnx').exists()
