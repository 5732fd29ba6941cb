# Copyright (c) OpenMMLab. All rights reserved.
"""tools/deployment/export_onnx.py on a tiny 11-class model."""
import argparse
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction

# End-to-end: the tool runs in subprocesses.
pytestmark = pytest.mark.slow

TOOL = 'tools/deployment/export_onnx.py'
MAFW_NAMES = [
    'happy', 'sad', 'neutral', 'angry', 'surprise', 'disgust', 'fear',
    'contempt', 'anxiety', 'helplessness', 'disappointment'
]


def _options(e2e) -> list:
    """The tiny model with 11 classes (names come from the checkpoint)."""
    return list(e2e.TINY_MODEL) + [
        'model.cls_head.num_classes=11',
        'model.cls_head.loss_cls.num_classes=11'
    ]


@pytest.fixture(scope='module')
def exported(tmp_path_factory, e2e):
    """Checkpoint, export run and .onnx file of a random tiny model."""
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    root = tmp_path_factory.mktemp('export_onnx')
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    cfg = Config.fromfile(e2e.SAMPLE_CONFIG)
    cfg.merge_from_dict(parser.parse_args(['--o', *_options(e2e)]).o)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    ckpt = str(root / 'tiny11.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=MAFW_NAMES))), ckpt)
    out = str(root / 'tiny11.onnx')
    args = [
        'python', TOOL, e2e.SAMPLE_CONFIG, ckpt, '--output-file', out,
        '--num-frames', '8', '--shape', '32', '--cfg-options', *_options(e2e)
    ]
    proc = e2e.run_tool(args)
    return dict(model=model, ckpt=ckpt, onnx=out, stdout=proc.stdout)


def test_tool_checks_two_batch_sizes(exported):
    diffs = {
        int(n): float(d)
        for n, d in re.findall(
            r'batch (\d+): max \|onnxruntime - PyTorch\| probability '
            r'difference (\S+)', exported['stdout'])
    }
    assert set(diffs) == {1, 3}
    assert max(diffs.values()) <= 1e-4
    assert 'check passed' in exported['stdout']


def test_graph_names_dynamic_batch_and_metadata(exported):
    import onnx
    proto = onnx.load(exported['onnx'])
    assert [i.name for i in proto.graph.input] == ['clips']
    assert [o.name for o in proto.graph.output] == ['scores']
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and not dims[0].HasField('dim_value')
    assert [d.dim_value for d in dims[1:]] == [3, 8, 32, 32]
    out_dims = proto.graph.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param == dims[0].dim_param
    assert out_dims[1].dim_value == 11
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta['class_names']) == MAFW_NAMES
    assert meta['opset'] == '18'


def test_onnxruntime_matches_pytorch_on_new_batches(exported):
    """Batch 4 (the tool checked 1 and 3), raw clips vs test_step."""
    import onnxruntime as ort
    from mmaction.structures import ActionDataSample
    session = ort.InferenceSession(
        exported['onnx'], providers=['CPUExecutionProvider'])
    clips = np.random.default_rng(7).uniform(0, 255, (4, 3, 8, 32, 32))
    clips = clips.astype(np.float32)
    got = session.run(['scores'], {'clips': clips})[0]
    data = dict(
        inputs=[torch.from_numpy(c[None]) for c in clips],
        data_samples=[ActionDataSample() for _ in clips])
    with torch.no_grad():
        want = torch.stack(
            [s.pred_score for s in exported['model'].test_step(data)])
    assert got.shape == (4, 11)
    assert np.abs(got.sum(1) - 1).max() < 1e-5
    assert np.abs(got - want.numpy()).max() <= 1e-4


def test_corrupted_graph_makes_the_check_fail(exported, tmp_path, e2e):
    import onnx
    from onnx import numpy_helper
    proto = onnx.load(exported['onnx'])
    (weight, ) = [
        t for t in proto.graph.initializer if t.name.endswith('fc_cls.weight')
    ]
    values = numpy_helper.to_array(weight).copy()
    values[0] = values[0] * 50 + 0.5
    weight.CopyFrom(numpy_helper.from_array(values, weight.name))
    broken = str(tmp_path / 'broken.onnx')
    onnx.save(proto, broken)
    proc = subprocess.run([
        sys.executable, TOOL, e2e.SAMPLE_CONFIG, exported['ckpt'],
        '--output-file', broken, '--verify-only', '--cfg-options',
        *_options(e2e)
    ],
                          cwd=e2e.ROOT,
                          env=e2e.tool_env(),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:]
    found = re.search(r'differs from PyTorch by up to (\S+) in probability',
                      proc.stdout)
    assert found, proc.stdout[-3000:]
    assert float(found.group(1)) > 1e-4


def test_help_explains_the_options(e2e):
    proc = e2e.run_tool(['python', TOOL, '--help'])
    for option in ('--output-file', '--opset', '--num-frames', '--shape',
                   '--verify-only', '--tolerance'):
        assert option in proc.stdout
