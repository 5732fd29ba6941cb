# Copyright (c) OpenMMLab. All rights reserved.
"""DFERMetric is exact with two processes (gloo on CPU).

Each rank evaluates its share of a 5-sample data set as a distributed
sampler hands it out, padded so both ranks see 3 samples. MMEngine's rule
(interleave the ranks, keep the first ``size``) is exact only when the
padding comes last in that interleaved order, as with ``DefaultSampler``;
DFERMetric de-duplicates by ``sample_idx`` and is exact for any padding.
"""
import json
import os
import subprocess
import sys

import pytest

WORKER = r'''
import json, os, sys
import torch.distributed as dist
rank, init, collect_dir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
dist.init_process_group('gloo', init_method=init, rank=rank, world_size=2)
from mmaction.structures import ActionDataSample
from mmstt.evaluation import DFERMetric
gt = [0, 0, 1, 1, 6]
pred = [0, 1, 1, 1, 2]
shares = {
    # DefaultSampler: indices[rank::2] of [0, 1, 2, 3, 4, 0]
    'default': {0: [0, 2, 4], 1: [1, 3, 0]},
    # padding in the middle of a rank's share
    'odd': {0: [0, 1, 2], 1: [3, 0, 4]},
}
for case in ('default', 'odd'):
    for device in ('cpu', 'gpu'):
        for with_idx in (True, False):
            metric = DFERMetric(
                collect_device=device,
                collect_dir=collect_dir if device == 'cpu' else None,
                save_confusion_matrix=False)
            metric.dataset_meta = dict(classes=[f'c{k}' for k in range(7)])
            samples = []
            for i in shares[case][rank]:
                s = ActionDataSample().set_gt_label(gt[i])
                s.set_pred_label(pred[i])
                if with_idx:
                    s.set_metainfo(dict(sample_idx=i))
                samples.append(s.to_dict())
            metric.process(None, samples)
            out = metric.evaluate(5)
            key = f'{case}-{device}-{with_idx}'
            print('RESULT ' + json.dumps(dict(key=key, **out)), flush=True)
dist.barrier()
dist.destroy_process_group()
# torch's gloo threads sometimes abort at interpreter teardown ("terminate
# called without an active exception") after all work is done; leave at once.
sys.stdout.flush()
os._exit(0)
'''


def test_two_ranks_are_exact(tmp_path) -> None:
    script = tmp_path / 'worker.py'
    script.write_text(WORKER)
    init = f'file://{tmp_path}/init'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    procs = [
        subprocess.Popen([
            sys.executable,
            str(script),
            str(rank), init,
            str(tmp_path / 'collect')
        ],
                         stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT,
                         text=True,
                         env=env,
                         cwd=str(tmp_path)) for rank in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    per_rank = []
    for proc, text in zip(procs, outputs):
        assert proc.returncode == 0, text[-3000:]
        lines = [x for x in text.splitlines() if x.startswith('RESULT ')]
        per_rank.append({
            r['key']: r
            for r in (json.loads(x[len('RESULT '):]) for x in lines)
        })
    assert per_rank[0] == per_rank[1]  # every rank gets the same metrics
    results = per_rank[0]
    assert len(results) == 8
    # by hand: samples 0, 2, 3 of 5 correct -> WAR 60; recalls happy 1/2,
    # sad 2/2, fear 0/1 -> UAR 50 (neutral is predicted, not in the gt)
    for case in ('default', 'odd'):
        for device in ('cpu', 'gpu'):
            out = results[f'{case}-{device}-True']
            assert out['dfer/war'] == pytest.approx(60.0)
            assert out['dfer/uar'] == pytest.approx(50.0)
    # without sample_idx: exact for DefaultSampler only; the odd padding
    # keeps [0, 3, 1, 0, 2] -> 4 of 5 correct (MMEngine's behaviour)
    for device in ('cpu', 'gpu'):
        assert results[f'default-{device}-False']['dfer/war'] == (
            pytest.approx(60.0))
        assert results[f'odd-{device}-False']['dfer/war'] == (
            pytest.approx(80.0))
