# Copyright (c) OpenMMLab. All rights reserved.
"""Smoke test: ``benchmarks/run.py --quick`` runs and writes valid JSON."""
import json
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

SECTION_KEYS = ('matmul_peak', 'inference', 'neck_vs_mmaction', 'efficiency',
                'scaling', 'training', 'memory', 'data_pipeline',
                'training_e2e', 'bf16_agreement', 'targets')


@pytest.mark.slow
def test_quick_run_writes_results(tmp_path) -> None:
    """The quick run exits 0, prints the table and fills every section."""
    out = tmp_path / 'results.json'
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'benchmarks', 'run.py'), '--quick', '--out',
        str(out)
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '| Figure | fp32 | bf16 | Notes |' in proc.stdout
    results = json.loads(out.read_text())
    for key in SECTION_KEYS:
        assert key in results, key

    machine = results['machine']
    assert machine['torch_threads'] == 2
    for key in ('cpu_model', 'usable_cores', 'torch_version',
                'cpu_capability'):
        assert machine[key], key
    assert results['settings']['mode'] == 'quick'

    for precision in ('fp32', 'bf16'):
        assert results['matmul_peak'][precision]['peak_gflops'] > 0
        assert results['matmul_peak']['onednn_' + precision]['peak_gflops'] > 0
        assert results['inference'][precision]['clips_per_s'] > 0
        assert results['training'][precision]['clips_per_s'] > 0
        for mode in ('forward', 'forward_backward'):
            neck = results['neck_vs_mmaction'][precision][mode]
            assert neck['speedup']['stt'] > 0
            assert neck['stt']['median_s'] > 0
            assert neck['mmaction']['median_s'] > 0
        eff = results['efficiency']
        for part in ('model', 'backbone', 'neck'):
            assert eff[part][precision]['fraction_of_peak'] > 0
            assert eff[part][precision]['fraction_of_onednn_peak'] > 0
        assert neck['speedup_bound'] > 0
        mem = results['memory'][precision]
        assert mem['peak_mib'] >= mem['before_steps_mib'] > 0
    # The dispatcher's count matches the closed form for the backbone; the
    # neck may skip work (never add any).
    counted = results['efficiency']['flops']
    analytic = results['efficiency']['flops_analytic']
    quick_batch = results['settings']['batch']
    assert counted['backbone'] == analytic['backbone']
    assert 0 < counted['neck'] <= analytic['neck']
    assert counted['total'] == counted['backbone'] + counted['neck'] + \
        counted['head']
    assert results['inference']['batch'] == quick_batch

    for media in ('frames', 'video'):
        data = results['data_pipeline'][media]
        assert data['clips_per_s'] > 0
        assert data['num_workers'] == 2
        # The data pipeline is the config's: 16 frames at 112x112.
        assert data['input_shape'] == [1, 3, 16, 112, 112]
    for part in ('model', 'neck'):
        assert len(results['scaling'][part]['frames']['points']) >= 2
        assert 'ms_per_token' in results['scaling'][part]
    e2e = results['training_e2e']
    assert e2e['workers=2,threads=2']['clips_per_s'] > 0
    agree = results['bf16_agreement']
    assert 0.0 <= agree['top1_agreement'] <= 1.0
    assert agree['views'] > 0
    small = agree['trained_small_stt']
    assert small['views'] == 8 and 0.0 <= small['top1_agreement'] <= 1.0
    targets = results['targets']
    for name in ('neck_forward_fp32', 'neck_forward_backward_fp32',
                 'model_fp32_peak_fraction', 'bf16_inference_speedup',
                 'bf16_top1_agreement',
                 'bf16_top1_agreement_trained_small_stt',
                 'data_frames_vs_training', 'data_video_vs_training'):
        assert isinstance(targets[name]['holds'], bool), name
