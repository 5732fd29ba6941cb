# Copyright (c) OpenMMLab. All rights reserved.
"""``benchmarks/run.py``: section selection, the JSON and the CPU record."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from benchmarks import run as bench_run

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _check_cpu_record(record: dict) -> None:
    assert record['cpu_model']
    assert isinstance(record['cpu_flags'], list)
    assert isinstance(record['amx_bf16'], bool) and record['cpu_capability']


def _quick_run(tmp_path, section: str, setting: str) -> tuple:
    """Run one section of a quick benchmark on one thread.

    Returns:
        tuple: The exit code and the results JSON.
    """
    out = tmp_path / 'results.json'
    code = bench_run.main([
        '--quick', '--sections', section, '--threads', '1', '--set', setting,
        '--out',
        str(out)
    ])
    return code, json.loads(out.read_text())


def test_selected_section_only(tmp_path, capsys) -> None:
    """Only the chosen section runs; the JSON records CPU and settings."""
    code, results = _quick_run(tmp_path, 'peak', 'peak_sizes=[128]')
    assert code == 0
    assert not set(bench_run.SECTIONS) - {'peak'} & set(results)
    _check_cpu_record(results['machine'])
    _check_cpu_record(results['peak']['machine'])
    assert results['machine']['torch_threads'] == 1
    assert results['settings']['mode'] == 'quick'
    assert results['settings']['peak_sizes'] == [128]
    for p in ('fp32', 'bf16'):
        assert results['peak'][p]['peak_gflops'] > 0
        assert results['peak'][p]['best_size'] == 128
    assert 0 <= results['peak']['others_cpu_fraction'] <= 1
    assert results['errors'] == {} and results['targets'] == {}
    assert '| torch.mm peak (GFLOP/s) |' in capsys.readouterr().out


def test_budgets_and_settings_are_parsed_and_checked() -> None:
    """Budgets are ascending minutes; ``--set`` takes known keys only."""
    args = bench_run.parse_args(
        ['--tta-budgets', '5,0.5', '--set', 'repeats=3', 'peak_sizes=[64]'])
    assert args.tta_budgets == [0.5, 5.0]
    assert bench_run.parse_args([]).tta_budgets == [2.0, 5.0, 10.0]
    assert bench_run.parse_args(['--quick']).tta_budgets == [0.0]
    assert dict(args.set) == dict(repeats=3, peak_sizes=[64])
    for bad in (['--tta-budgets', '-1'], ['--set',
                                          'repeat=3'], ['--set', 'repeats=x']):
        with pytest.raises(SystemExit):
            bench_run.parse_args(bad)


@pytest.mark.parametrize('setting', ['["fp32"]', '"fp32"'])
def test_neck_precisions_subset(tmp_path, capsys, setting) -> None:
    """``neck_precisions`` (a list, or one name) times only the chosen
    precision; its rows show '-' for the other and its targets cover only
    what was timed."""
    code, results = _quick_run(tmp_path, 'neck', f'neck_precisions={setting}')
    assert code == 0
    assert 'fp32' in results['neck'] and 'bf16' not in results['neck']
    assert set(results['targets']) == {
        'neck_forward_fp32', 'neck_forward_backward_fp32'
    }
    rows = [
        line for line in capsys.readouterr().out.splitlines()
        if line.startswith('| neck vs MMAction2')
    ]
    assert len(rows) == 2
    for line in rows:
        cells = [c.strip() for c in line.strip('|').split('|')]
        assert cells[1].endswith('x)') and cells[2] == '-'
        assert "kernel='reference' fp32 " in cells[3]
        assert 'bf16' not in cells[3]


def test_unknown_neck_precision_fails_the_section(tmp_path) -> None:
    """A precision the benchmark does not know is an error of the section,
    not a silently empty table."""
    code, results = _quick_run(tmp_path, 'neck', 'neck_precisions=["fp16"]')
    assert code == 1 and 'neck' not in results
    assert "neck_precisions must be a non-empty subset" in \
        results['errors']['neck']


@pytest.mark.slow
def test_quick_run_of_the_sections(tmp_path) -> None:
    """A quick run of every section but memory fills the JSON."""
    out = tmp_path / 'results.json'
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'benchmarks', 'run.py'), '--quick', '--skip', 'memory',
        '--tta-budgets', '0', '--out',
        str(out)
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())
    for key in ('peak', 'inference', 'training', 'neck', 'data', 'tta'):
        _check_cpu_record(results[key]['machine'])
    inf = results['inference']
    # FLOPs of the parts add up to no more than the whole model's.
    assert 0 < inf['flops']['backbone'] + inf['flops']['neck'] <= \
        inf['flops']['total']
    for p in ('fp32', 'bf16'):
        assert inf['achieved']['model'][p]['fraction_of_peak'] > 0
        # The compiled twin ran (compiled in the warm-up) on the same work.
        assert inf['achieved']['compiled'][p]['fraction_of_peak'] > 0
        # Its first call, timed alone, compiled.
        assert inf['compile_s'][p] > \
            inf['timings'][f'compiled/{p}']['median_s']
        assert inf['compile_gain'][p] == pytest.approx(
            inf['timings'][f'model/{p}']['median_s'] /
            inf['timings'][f'compiled/{p}']['median_s'])
        for mode in ('forward', 'forward_backward'):
            entry = results['neck'][p][mode]
            assert entry['speedup']['stt'] > 0
            # --quick times one round, whose ratio is that of the medians.
            assert entry['timings']['stt']['repeats'] == 1
            assert entry['round_speedups']['stt'] == [
                pytest.approx(entry['speedup']['stt'])
            ]
    assert results['neck']['input_grad'] is True
    assert set(results['targets']) >= {'neck_forward_fp32'}
    for media in ('frames', 'video'):
        assert results['data'][media]['input_shape'] == [1, 3, 16, 112, 112]
    paper = results['tta']['paper']['budgets']
    assert len(paper) == 1 and 0 <= paper[0]['uar'] <= 1
    for name in ('demo', 'paper'):
        agree = results['tta'][name]['bf16_agreement']
        assert agree['clips'] == results['tta'][name]['test_clips'] > 0
        assert agree['disagreements'] == round(agree['clips'] *
                                               (1 - agree['top1_agreement']))
    if 'onnxrt' in results:
        assert results['onnxrt']['max_prob_diff'] < 1e-3
