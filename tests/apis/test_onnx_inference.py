# Copyright (c) OpenMMLab. All rights reserved.
"""An exported .onnx model run through mmstt.apis like a checkpoint."""
import json

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

from mmstt.apis import inference_recognizer, init_recognizer
from mmstt.apis.onnx_export import check_onnx, export_onnx
from mmstt.apis.onnx_inference import ONNXRecognizer
from mmstt.datasets import DFER_CLASSES
from .helpers import save_checkpoint, tiny_config


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """A tiny 7-class model, its config, checkpoint and .onnx file."""
    root = tmp_path_factory.mktemp('onnx_inference')
    cfg = tiny_config()
    # Two blocks: the last one (class token only) and a full one.
    cfg.model.neck.depth = 2
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    ckpt = str(root / 'tiny.pth')
    save_checkpoint(model, ckpt, None)
    config = str(root / 'tiny.py')
    cfg.dump(config)
    onnx_file = str(root / 'tiny.onnx')
    result = export_onnx(model, cfg, onnx_file)
    return dict(
        model=model,
        cfg=cfg,
        config=config,
        checkpoint=ckpt,
        onnx=onnx_file,
        result=result)


def test_export_result_and_file(exported):
    import onnx
    result = exported['result']
    assert result['class_names'] == list(DFER_CLASSES)
    assert result['input_shape'] == ('N', 3, 8, 32, 32)
    assert set(result['max_diff']) == {1, 3}
    assert max(result['max_diff'].values()) <= 1e-4
    proto = onnx.load(exported['onnx'])
    assert [i.name for i in proto.graph.input] == ['clips']
    assert [o.name for o in proto.graph.output] == ['scores']
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and not dims[0].HasField('dim_value')
    assert [d.dim_value for d in dims[1:]] == [3, 8, 32, 32]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta['class_names']) == list(DFER_CLASSES)
    assert meta['num_frames'] == '8' and meta['input_size'] == '32,32'


def test_onnx_recognizer_matches_pytorch_at_other_batch_sizes(exported):
    runner = ONNXRecognizer(exported['onnx'])
    assert runner.class_names == list(DFER_CLASSES)
    assert runner.clip_shape == (3, 8, 32, 32)
    rng = np.random.default_rng(1)
    for n in (2, 5):
        clips = rng.uniform(0, 255, (n, 3, 8, 32, 32)).astype(np.float32)
        got = runner.predict_scores(clips)
        data = dict(
            inputs=[torch.from_numpy(c[None]) for c in clips],
            data_samples=[ActionDataSample() for _ in range(n)])
        with torch.no_grad():
            want = torch.stack([
                s.pred_score for s in exported['model'].test_step(data)
            ]).numpy()
        assert got.shape == (n, 7)
        assert np.abs(got.sum(1) - 1).max() < 1e-5
        assert np.abs(got - want).max() <= 1e-4
    with pytest.raises(ValueError, match=r'takes clips of shape'):
        runner.predict_scores(np.zeros((1, 3, 4, 32, 32), np.float32))


def test_test_step_averages_the_views(exported):
    runner = ONNXRecognizer(exported['onnx'])
    views = np.random.default_rng(2).uniform(0, 255, (2, 3, 8, 32, 32))
    sample = runner.test_step(dict(inputs=[torch.from_numpy(views)]))[0]
    per_view = runner.predict_scores(views)
    assert np.allclose(sample.pred_score.numpy(), per_view.mean(0))
    assert int(sample.pred_label) == int(per_view.mean(0).argmax())


def test_init_recognizer_runs_an_onnx_file_like_a_checkpoint(exported):
    from mmstt.testing import render_clip
    frames = render_clip(0, 12, seed=3, size=48)
    onnx_model = init_recognizer(exported['config'], exported['onnx'])
    assert isinstance(onnx_model, ONNXRecognizer)
    torch_model = init_recognizer(exported['config'], exported['checkpoint'])
    got = inference_recognizer(onnx_model, frames)
    want = inference_recognizer(torch_model, frames)
    assert got.pred_score.shape == want.pred_score.shape == (7, )
    assert (got.pred_score - want.pred_score).abs().max() <= 1e-4
    assert int(got.pred_label) == int(want.pred_label)


def test_check_fails_on_a_corrupted_graph(exported, tmp_path):
    import onnx
    from onnx import numpy_helper

    from mmstt.apis.onnx_export import ONNXCheckError
    proto = onnx.load(exported['onnx'])
    # The classifier's weight: a larger first row raises class 0's score.
    (weight, ) = [
        t for t in proto.graph.initializer if t.name.endswith('fc_cls.weight')
    ]
    values = numpy_helper.to_array(weight).copy()
    values[0] = values[0] * 50 + 0.5
    weight.CopyFrom(numpy_helper.from_array(values, weight.name))
    broken = str(tmp_path / 'broken.onnx')
    onnx.save(proto, broken)
    with pytest.raises(ONNXCheckError, match='differs from PyTorch by up to'):
        check_onnx(exported['model'], broken)
