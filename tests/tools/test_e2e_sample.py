# Copyright (c) OpenMMLab. All rights reserved.
"""End-to-end: train, test, resume, torchrun and demo on the sample set.

Every test runs the command-line tools (subprocesses, CPU) on the generated
DFEW look-alike with the tiny settings of tests/tools/conftest.py. Fold 1
of the sample set has 17 training and 4 test clips.
"""
import csv
import json
import math
import os.path as osp
import re
import signal
import subprocess
import sys
import time
from glob import glob

import cv2
import mmengine
import numpy as np
import pytest

import mmstt  # noqa: F401  (safe loading of mmengine checkpoints)
from mmstt.datasets import DFER_CLASSES

NUM_TRAIN, NUM_TEST, BATCH = 17, 4, 4


def _ckpt_meta(path: str) -> dict:
    """``meta`` of an mmengine checkpoint, read through the safe loader."""
    from mmstt.engine import read_checkpoint
    return read_checkpoint(path)['meta']


def _log_text(work_dir: str) -> str:
    """All text logs of a work dir, oldest first."""
    logs = sorted(glob(osp.join(work_dir, '*', '*.log')))
    assert logs, f'no log in {work_dir}'
    return '\n'.join(open(p).read() for p in logs)


def _assert_same_metrics(a: dict, b: dict) -> None:
    """Every ``dfer/*`` metric equal (NaN recall equals NaN)."""
    keys = sorted(k for k in a if k.startswith('dfer/'))
    assert keys == sorted(k for k in b if k.startswith('dfer/'))
    assert 'dfer/uar' in keys and 'dfer/war' in keys
    np.testing.assert_allclose([a[k] for k in keys], [b[k] for k in keys],
                               rtol=0,
                               atol=1e-6,
                               equal_nan=True)


def _test_clip(root: str) -> tuple:
    """Frame folder and label of fold 1's first test clip."""
    split = osp.join(root, 'EmoLabel_DataSplit', 'test(single-labeled)',
                     'set_1.csv')
    with open(split, newline='') as f:
        row = next(csv.DictReader(f))
    folder = osp.join(root, 'Clip', 'clip_224x224',
                      f'{int(row["video_name"]):05d}')
    return folder, int(row['label']) - 1


def _parse_probabilities(stdout: str) -> dict:
    """The ``probabilities:`` block printed by tools/demo.py."""
    block = stdout.split('probabilities:\n', 1)[1]
    probs = {}
    for line in block.splitlines():
        match = re.fullmatch(r'\s+(\w+)\s+([0-9.]+)', line)
        if not match:
            break
        probs[match.group(1)] = float(match.group(2))
    return probs


@pytest.mark.slow
def test_train_two_epochs_writes_checkpoints_and_metrics(trained_sample, e2e):
    work_dir = trained_sample
    for name in ('epoch_1.pth', 'epoch_2.pth', 'last_checkpoint'):
        assert osp.isfile(osp.join(work_dir, name)), name
    assert len(glob(osp.join(work_dir, 'best_dfer_uar_epoch_*.pth'))) == 1
    log = _log_text(work_dir)
    assert 'dfer/uar' in log and 'dfer/war' in log
    records = e2e.val_records(work_dir)
    assert sorted(records) == [1, 2]
    for rec in records.values():
        assert 0.0 <= rec['dfer/uar'] <= 100.0
        assert 0.0 <= rec['dfer/war'] <= 100.0
        # WAR is a multiple of 1/4 on 4 test clips.
        assert rec['dfer/war'] * NUM_TEST / 100 == pytest.approx(
            round(rec['dfer/war'] * NUM_TEST / 100))
    meta = _ckpt_meta(osp.join(work_dir, 'epoch_2.pth'))
    assert meta['epoch'] == 2
    assert meta['iter'] == 2 * math.ceil(NUM_TRAIN / BATCH)


@pytest.mark.slow
def test_test_tool_reproduces_logged_val_metrics(trained_sample, sample_root,
                                                 e2e, tmp_path):
    ckpt = osp.join(trained_sample, 'epoch_2.pth')
    dump = str(tmp_path / 'preds.pkl')
    e2e.run_tool([
        'python', 'tools/test.py', e2e.SAMPLE_CONFIG, ckpt, '--work-dir',
        str(tmp_path), '--dump', dump, '--cfg-options',
        *e2e.tiny_options(data_root=sample_root)
    ])
    tested = e2e.read_test_metrics(str(tmp_path))
    logged = e2e.val_records(trained_sample)[2]
    _assert_same_metrics(tested, logged)
    preds = mmengine.load(dump)
    assert len(preds) == NUM_TEST
    for pred in preds:
        assert pred['pred_score'].shape == (len(DFER_CLASSES), )
        assert float(pred['pred_score'].sum()) == pytest.approx(1, abs=1e-5)


@pytest.mark.slow
def test_test_tool_compiled_reproduces_logged_val_metrics(
        trained_sample, sample_root, e2e, tmp_path):
    """--compile predicts through the frozen graph, with the same metrics;
    batches of 3 leave a last batch of 1, padded into the first graph."""
    ckpt = osp.join(trained_sample, 'epoch_2.pth')
    proc = e2e.run_tool([
        'python', 'tools/test.py', e2e.SAMPLE_CONFIG, ckpt, '--compile',
        '--work-dir',
        str(tmp_path), '--cfg-options',
        *e2e.tiny_options(data_root=sample_root),
        'test_dataloader.batch_size=3'
    ])
    assert 'test_cfg=dict(compile=True)' in _log_text(str(tmp_path))
    assert 'torch.compile failed' not in proc.stdout
    _assert_same_metrics(
        e2e.read_test_metrics(str(tmp_path)),
        e2e.val_records(trained_sample)[2])


@pytest.mark.slow
def test_torchrun_two_process_test_equals_one_process(trained_sample,
                                                      sample_root, e2e,
                                                      tmp_path):
    # The 17 training clips do not split evenly over 2 ranks: the sampler
    # pads, and the metric must drop the padding.
    ckpt = osp.join(trained_sample, 'epoch_2.pth')
    opts = e2e.tiny_options(data_root=sample_root) + [
        'test_dataloader.dataset.split=train', 'test_dataloader.batch_size=3'
    ]
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    e2e.run_tool([
        'python', 'tools/test.py', e2e.SAMPLE_CONFIG, ckpt, '--work-dir', one,
        '--cfg-options', *opts
    ])
    e2e.run_tool([
        'bash', 'tools/dist_test.sh', e2e.SAMPLE_CONFIG, ckpt, '2',
        '--work-dir', two, '--dump',
        str(tmp_path / 'two.pkl'), '--cfg-options', *opts
    ],
                 PORT=str(e2e.free_port()))
    assert 'Distributed training: True' in _log_text(two)
    assert 'Distributed training: False' in _log_text(one)
    _assert_same_metrics(
        e2e.read_test_metrics(one), e2e.read_test_metrics(two))
    # Gathered over the ranks without the padded duplicate.
    assert len(mmengine.load(str(tmp_path / 'two.pkl'))) == NUM_TRAIN


@pytest.mark.slow
def test_torchrun_two_process_training(sample_root, e2e, tmp_path):
    work_dir = str(tmp_path)
    e2e.run_tool([
        'bash', 'tools/dist_train.sh', e2e.SAMPLE_CONFIG, '2', '--work-dir',
        work_dir, '--seed', '0', '--cfg-options', 'train_cfg.max_epochs=1',
        *e2e.tiny_options(data_root=sample_root)
    ],
                 PORT=str(e2e.free_port()))
    log = _log_text(work_dir)
    assert 'Distributed training: True' in log
    assert 'dfer/uar' in log and 'dfer/war' in log
    assert sorted(e2e.val_records(work_dir)) == [1]
    # Each of the 2 ranks sees ceil(17 / 2) = 9 clips: 3 batches of 4.
    meta = _ckpt_meta(osp.join(work_dir, 'epoch_1.pth'))
    assert meta['iter'] == math.ceil(math.ceil(NUM_TRAIN / 2) / BATCH)


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_final_iteration(
        sample_root, e2e, tmp_path):
    work_dir = str(tmp_path / 'work')
    # Batch 1: 17 iterations per epoch, so the kill lands inside epoch 2.
    cmd = [
        sys.executable, 'tools/train.py', e2e.SAMPLE_CONFIG, '--work-dir',
        work_dir, '--seed', '0', '--cfg-options', 'train_cfg.max_epochs=2',
        'train_dataloader.batch_size=1', 'default_hooks.logger.interval=1',
        *e2e.tiny_options(data_root=sample_root)
    ]
    first_ckpt = osp.join(work_dir, 'epoch_1.pth')
    with open(tmp_path / 'killed.out', 'w') as out:
        proc = subprocess.Popen(
            cmd,
            cwd=e2e.ROOT,
            env=e2e.tool_env(),
            stdout=out,
            stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 240
            while time.time() < deadline and proc.poll() is None:
                logs = glob(osp.join(work_dir, '*', '*.log'))
                if osp.isfile(first_ckpt) and logs and re.search(
                        r'Epoch\(train\) +\[2\]\[ *3/17\]',
                        open(logs[0]).read()):
                    break
                time.sleep(0.02)
            assert proc.poll() is None, 'training ended before the kill'
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
    killed_log = open(glob(osp.join(work_dir, '*', '*.log'))[0]).read()
    assert 'Epoch(train) [2][17/17]' not in killed_log

    e2e.run_tool(cmd[:3] + ['--resume'] + cmd[3:], timeout=300)
    log = _log_text(work_dir)
    assert re.search(r'resumed epoch: 1, iter: 17', log)
    meta = _ckpt_meta(osp.join(work_dir, 'epoch_2.pth'))
    assert (meta['epoch'], meta['iter']) == (2, 2 * NUM_TRAIN)
    assert sorted(e2e.val_records(work_dir)) == [1, 2]


@pytest.mark.slow
def test_demo_prints_seven_probabilities(trained_sample, sample_root, e2e,
                                         tmp_path):
    clip, _ = _test_clip(sample_root)
    ckpt = osp.join(trained_sample, 'epoch_2.pth')
    out = str(tmp_path / 'pred.png')
    proc = e2e.run_tool([
        'python', 'tools/demo.py', clip, e2e.SAMPLE_CONFIG, ckpt, '--topk',
        '3', '--device', 'cpu', '--out', out, '--cfg-options',
        *e2e.tiny_options()
    ])
    probs = _parse_probabilities(proc.stdout)
    assert list(probs) == list(DFER_CLASSES)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert all(0.0 <= p <= 1.0 for p in probs.values())
    top = re.findall(r'^\s+(\d)\. (\w+)\s+([0-9.]+)$', proc.stdout, re.M)
    assert [int(r) for r, _, _ in top] == [1, 2, 3]
    assert top[0][1] == max(probs, key=probs.get)
    image = cv2.imread(out)
    # frames of the clip above the probability bars (tests/tools/test_demo)
    assert image is not None and image.shape[1] > image.shape[0] > 300


@pytest.mark.slow
def test_demo_on_a_video_with_face_detection(trained_sample, afew_sample_root,
                                             e2e, tmp_path, capsys, load_tool):
    demo = load_tool('demo.py')
    video = sorted(glob(osp.join(afew_sample_root, 'Val_AFEW', '*',
                                 '*.avi')))[0]
    out = str(tmp_path / 'pred.mp4')
    probs = demo.main([
        video, e2e.SAMPLE_CONFIG,
        osp.join(trained_sample, 'best_dfer_uar_epoch_*.pth'), '--detect-face',
        '--out', out, '--cfg-options', *e2e.tiny_options()
    ])
    printed = capsys.readouterr()
    assert probs.shape == (len(DFER_CLASSES), )
    assert probs.sum() == pytest.approx(1.0, abs=1e-6)
    # The sample videos show a drawn face that the detector finds.
    assert re.search(r'face found in (\d+)/\1 frames', printed.out)
    cap = cv2.VideoCapture(video)
    num_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    written = cv2.VideoCapture(out)
    assert int(written.get(cv2.CAP_PROP_FRAME_COUNT)) == num_frames
    ok, frame = written.read()
    written.release()
    assert ok and frame.shape[0] == 300


@pytest.mark.slow
def test_cross_validation_tool_trains_and_reports(trained_sample, sample_root,
                                                  e2e, tmp_path, load_tool):
    tool = load_tool('dfew_cross_validation.py')
    # Collect only, from the real logs of the 2-epoch run.
    summary = tool.main([
        '--folds', '1', '--work-dirs', trained_sample, '--choice', 'last',
        '--out',
        str(tmp_path / 'collected')
    ])
    logged = e2e.val_records(trained_sample)[2]
    assert summary['folds']['1']['epoch'] == 2
    assert summary['mean']['dfer/uar'] == pytest.approx(logged['dfer/uar'])
    assert summary['mean']['dfer/war'] == pytest.approx(logged['dfer/war'])
    # Train mode: the tool runs tools/train.py for the fold, then reports.
    proc = e2e.run_tool([
        'python', 'tools/dfew_cross_validation.py', '--config-tmpl',
        e2e.SAMPLE_CONFIG, '--folds', '1', '--work-dir-root',
        str(tmp_path), '--out',
        str(tmp_path / 'cv'), '--', '--cfg-options', 'train_cfg.max_epochs=1',
        *e2e.tiny_options(data_root=sample_root)
    ])
    # One fold: the mean alone, no '± 0.00'.
    mean_rows = [r for r in proc.stdout.splitlines() if r.startswith('| mean')]
    assert len(mean_rows) == 1 and mean_rows[0].startswith('| mean (1 fold) |')
    assert '±' not in mean_rows[0]
    assert sorted(e2e.val_records(str(tmp_path / 'stt_sample'))) == [1]
    with open(tmp_path / 'cv.json') as f:
        report = json.load(f)
    assert report['num_folds'] == 1 and report['choice'] == 'best'
    assert (tmp_path / 'cv.md').read_text().startswith('DFEW, 1 fold (1)')
