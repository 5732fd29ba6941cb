# Copyright (c) OpenMMLab. All rights reserved.
import json
import os
import os.path as osp

import numpy as np
import pytest


def _write_run(work_dir: str, stamp: str, epochs: dict) -> None:
    """Write a scalars.json like MMEngine's LocalVisBackend does."""
    vis = osp.join(work_dir, stamp, 'vis_data')
    os.makedirs(vis, exist_ok=True)
    with open(osp.join(vis, 'scalars.json'), 'w') as f:
        for epoch, (uar, war) in epochs.items():
            f.write(
                json.dumps(
                    dict(
                        lr=0.01,
                        loss=1.0,
                        epoch=epoch,
                        iter=epoch * 3,
                        step=epoch * 3)) + '\n')
            f.write(
                json.dumps({
                    'dfer/uar': uar,
                    'dfer/war': war,
                    'time': 0.1,
                    'step': epoch
                }) + '\n')


def test_read_and_select_best_vs_last(load_tool, tmp_path):
    tool = load_tool('dfew_cross_validation.py')
    wd = str(tmp_path / 'fold1')
    _write_run(wd, '20250101_000000', {1: (0.2, 0.3), 2: (0.5, 0.4)})
    # A resumed run re-validates epoch 2 and adds epoch 3.
    _write_run(wd, '20250102_000000', {2: (0.6, 0.45), 3: (0.4, 0.7)})
    records = tool.read_val_records(wd)
    assert [r['epoch'] for r in records] == [1, 2, 3]
    assert records[1]['dfer/uar'] == 0.6  # later run replaces epoch 2
    best = tool.select_record(records, 'best')
    last = tool.select_record(records, 'last')
    assert (best['epoch'], best['dfer/war']) == (2, 0.45)
    assert (last['epoch'], last['dfer/uar']) == (3, 0.4)
    with pytest.raises(ValueError):
        tool.select_record(records, 'middle')


def test_read_errors_name_the_work_dir(load_tool, tmp_path):
    tool = load_tool('dfew_cross_validation.py')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        tool.read_val_records(str(tmp_path / 'nowhere'))
    wd = tmp_path / 'broken'
    (wd / 'x' / 'vis_data').mkdir(parents=True)
    (wd / 'x' / 'vis_data' / 'scalars.json').write_text('{"a": 1}\nnot\n')
    with pytest.raises(ValueError, match='scalars.json:2'):
        tool.read_val_records(str(wd))


def test_collect_only_writes_markdown_and_json(load_tool, tmp_path, capsys):
    tool = load_tool('dfew_cross_validation.py')
    # DFERMetric logs percentages.
    uars = [50.0, 52.0, 54.0, 56.0, 58.0]
    wars = [60.0, 62.0, 64.0, 66.0, 68.0]
    dirs = []
    for k in range(5):
        wd = str(tmp_path / f'stt_dfew_fold{k + 1}')
        # epoch 2 is the best by UAR, epoch 3 the last.
        _write_run(
            wd, '20250101_000000', {
                1: (0.1, 0.1),
                2: (uars[k], wars[k]),
                3: (uars[k] - 5.0, wars[k] + 1.0)
            })
        dirs.append(wd)
    out = str(tmp_path / 'report' / 'cv')
    summary = tool.main(
        ['--work-dirs', *dirs, '--choice', 'best', '--out', out])
    assert summary['num_folds'] == 5
    np.testing.assert_allclose(summary['mean']['dfer/uar'], np.mean(uars))
    np.testing.assert_allclose(summary['std']['dfer/uar'],
                               np.std(uars, ddof=1))
    np.testing.assert_allclose(summary['mean']['dfer/war'], np.mean(wars))
    assert all(r['epoch'] == 2 for r in summary['folds'].values())
    with open(out + '.json') as f:
        assert json.load(f)['mean'] == summary['mean']
    markdown = open(out + '.md').read()
    assert '| 1 | 2 | 50.00 | 60.00 |' in markdown
    assert '| mean ± std | | 54.00 ± 3.16 | 64.00 ± 3.16 |' in markdown
    assert 'mean ± std' in capsys.readouterr().out

    last = tool.main(
        ['--work-dirs', *dirs, '--choice', 'last', '--out', out + '_last'])
    np.testing.assert_allclose(last['mean']['dfer/uar'], np.mean(uars) - 5.0)
    assert all(r['epoch'] == 3 for r in last['folds'].values())


def test_work_dirs_must_match_folds(load_tool, tmp_path):
    tool = load_tool('dfew_cross_validation.py')
    with pytest.raises(SystemExit):
        tool.parse_args(['--work-dirs', 'a', 'b', '--folds', '1'])
    args = tool.parse_args(['--folds', '2', '--', '--amp'])
    assert args.folds == [2] and args.train_args == ['--amp']
    assert not args.collect_only


def test_summarize_ignores_nan_recall(load_tool):
    tool = load_tool('dfew_cross_validation.py')
    nan = float('nan')
    per_fold = {
        1: {
            'epoch': 3,
            'dfer/uar': 40.0,
            'dfer/war': 50.0,
            'dfer/recall_disgust': nan
        },
        2: {
            'epoch': 4,
            'dfer/uar': 44.0,
            'dfer/war': 52.0,
            'dfer/recall_disgust': 10.0
        },
    }
    summary = tool.summarize(per_fold, 'last')
    assert summary['mean']['dfer/recall_disgust'] == 10.0
    assert summary['std']['dfer/recall_disgust'] == 0.0
    np.testing.assert_allclose(summary['std']['dfer/uar'], np.sqrt(8.0))
    assert 'epoch' not in summary['mean']
