# Copyright (c) OpenMMLab. All rights reserved.
"""Section: onnxruntime (CPU) against PyTorch fp32 and bf16, same batch.

The benchmarked model is exported with :func:`mmstt.apis.export_onnx`
(raw 0..255 clips in, class probabilities out; the exporter uses the
reference kernels) to a temporary file and run by
:class:`mmstt.apis.ONNXRecognizer` with the benchmark's threads,
interleaved with PyTorch's ``test_step`` in fp32 and under bf16 autocast
on the same clips. Skipped, with the reason, where onnxruntime or the
exporter is missing.
"""
import os.path as osp
import tempfile
from typing import Dict, List

import numpy as np
import torch
from mmengine.config import Config

from .common import ratio, time_interleaved
from .inference import inference_step

__all__ = ['available', 'run', 'rows']


def available() -> str:
    """Why the section cannot run here ('' when it can).

    Returns:
        str: The reason, or an empty string.
    """
    try:
        import onnxruntime  # noqa: F401

        from mmstt.apis.onnx_export import export_onnx  # noqa: F401
        from mmstt.apis.onnx_inference import ONNXRecognizer  # noqa: F401
    except ImportError as e:
        return (f'onnxruntime section skipped: {e} (install '
                'requirements/deploy.txt)')
    return ''


def run(bench) -> Dict[str, object]:
    """Time onnxruntime and PyTorch (fp32, bf16) side by side.

    Returns:
        dict: ``timings`` (``onnxruntime``, ``torch/fp32``,
        ``torch/bf16``), ``clips_per_s``, ``speedup`` (each PyTorch time
        over onnxruntime's), ``max_prob_diff`` (onnxruntime vs PyTorch
        fp32) and the export ``opset``.
    """
    from mmstt.apis.onnx_export import export_onnx
    from mmstt.apis.onnx_inference import ONNXRecognizer
    s, model, data = bench.settings, bench.model, bench.data
    clips = torch.cat(data['inputs']).numpy().astype(np.float32)
    num_classes = int(model.cls_head.num_classes)
    with tempfile.TemporaryDirectory(prefix='mmstt_bench_onnx_') as tmp:
        path = osp.join(tmp, 'stt.onnx')
        info = export_onnx(
            model,
            Config(dict(model=bench.model_cfg)),
            path,
            num_frames=s['frames'],
            shape=(s['size'], s['size']),
            class_names=[f'class_{i}' for i in range(num_classes)],
            verify=False)
        session = ONNXRecognizer(path, num_threads=bench.args.threads)
        fns = dict(
            onnxruntime=lambda: session.predict_scores(clips),
            **{
                f'torch/{p}': inference_step(model, data, p)
                for p in ('fp32', 'bf16')
            })
        timings = time_interleaved(fns, s['warmup'], s['repeats'])
        ort_scores = session.predict_scores(clips)
    samples = inference_step(model, data, 'fp32')()
    torch_scores = torch.stack([d.pred_score for d in samples]).numpy()
    batch = len(clips)
    return dict(
        batch=batch,
        opset=info['opset'],
        timings=timings,
        clips_per_s={
            k: batch / t['median_s']
            for k, t in timings.items()
        },
        speedup={
            p: ratio(timings, f'torch/{p}', 'onnxruntime')
            for p in ('fp32', 'bf16')
        },
        max_prob_diff=float(np.abs(ort_scores - torch_scores).max()))


def rows(results: dict) -> List[List[str]]:
    """Table rows of this section."""
    ort = results['onnxrt']
    cps = ort['clips_per_s']
    return [[
        f"onnxruntime vs PyTorch (clips/s, batch {ort['batch']})",
        f"{cps['onnxruntime']:.2f} vs {cps['torch/fp32']:.2f} = "
        f"{ort['speedup']['fp32']:.2f}x",
        f"{cps['onnxruntime']:.2f} vs {cps['torch/bf16']:.2f} = "
        f"{ort['speedup']['bf16']:.2f}x",
        'onnxruntime fp32 (CPU) over PyTorch in each precision; largest '
        f"probability difference to PyTorch fp32 {ort['max_prob_diff']:.1e}"
    ]]
