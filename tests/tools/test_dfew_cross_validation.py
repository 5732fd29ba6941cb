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
    # one finite value: no standard deviation
    assert summary['std']['dfer/recall_disgust'] is None
    np.testing.assert_allclose(summary['std']['dfer/uar'], np.sqrt(8.0))
    assert 'epoch' not in summary['mean']


def _strict_json(path: str) -> dict:
    """Load JSON, failing on the non-standard NaN/Infinity constants."""

    def refuse(name):
        raise AssertionError(f'bare {name} in {path}')

    with open(path) as f:
        return json.load(f, parse_constant=refuse)


def test_mafw_nan_recall_is_null_and_single_fold_has_no_std(
        load_tool, tmp_path) -> None:
    tool = load_tool('cross_validation.py')
    wd = str(tmp_path / 'stt_mafw_fold3')
    _write_run(wd, '20250101_000000', {1: (30.0, 40.0), 2: (35.0, 45.0)})
    # add an 11-class per-class recall that is NaN (class absent)
    scalars = osp.join(wd, '20250101_000000', 'vis_data', 'scalars.json')
    lines = open(scalars).read().splitlines()
    rec = json.loads(lines[-1])
    rec['dfer/recall_helplessness'] = float('nan')
    rec['dfer/recall_contempt'] = 12.5
    lines[-1] = json.dumps(rec)  # json.dumps writes NaN, as MMEngine does
    open(scalars, 'w').write('\n'.join(lines) + '\n')
    out = str(tmp_path / 'mafw_cv')
    summary = tool.main([
        'mafw', '--folds', '3', '--work-dirs', wd, '--choice', 'best', '--out',
        out
    ])
    assert summary['dataset'] == 'mafw' and summary['num_folds'] == 1
    assert summary['mean']['dfer/uar'] == 35.0
    assert summary['std']['dfer/uar'] is None
    record = _strict_json(out + '.json')
    assert record['folds']['3']['dfer/recall_helplessness'] is None
    assert record['mean']['dfer/recall_helplessness'] is None
    assert record['mean']['dfer/recall_contempt'] == 12.5
    markdown = open(out + '.md').read()
    assert markdown.startswith('MAFW, 1 fold (3);')
    assert '±' not in markdown
    assert '| mean (1 fold) | | 35.00 | 45.00 |' in markdown


def test_collect_only_names_missing_folds(load_tool, tmp_path, capsys) -> None:
    tool = load_tool('cross_validation.py')
    root = tmp_path / 'wd'
    for fold, (uar, war) in {1: (50.0, 60.0), 3: (54.0, 62.0)}.items():
        _write_run(
            str(root / f'stt_dfew_fold{fold}'), '20250101_000000',
            {1: (uar, war)})
    (root / 'stt_dfew_fold2').mkdir()  # started, nothing logged
    out = str(tmp_path / 'cv')
    with pytest.raises(SystemExit, match=r'2 of 4 DFEW folds .*fold 2, 4'):
        tool.main([
            'dfew', '--collect-only', '--folds', '1', '2', '3', '4',
            '--work-dir-root',
            str(root), '--choice', 'last', '--out', out
        ])
    err = capsys.readouterr().err
    assert 'missing fold 2:' in err and 'missing fold 4:' in err
    record = _strict_json(out + '.json')
    assert record['num_folds'] == 2 and record['missing_folds'] == [2, 4]
    markdown = open(out + '.md').read()
    assert markdown.startswith('DFEW, 2 folds (1, 3); missing: fold 2, 4')
    assert '| mean ± std | | 52.00 ± 2.83 | 61.00 ± 1.41 |' in markdown


def test_finished_folds_skipped_stopped_ones_resumed(load_tool, tmp_path,
                                                     monkeypatch) -> None:
    tool = load_tool('cross_validation.py')
    root = tmp_path / 'wd'
    done = root / 'stt_mafw_fold1'
    _write_run(str(done), '20250101_000000', {1: (20.0, 30.0)})
    (done / tool.DONE_FILE).write_text('{}')
    stopped = root / 'stt_mafw_fold2'
    _write_run(str(stopped), '20250101_000000', {1: (21.0, 31.0)})
    (stopped / 'last_checkpoint').write_text(str(stopped / 'epoch_1.pth'))
    calls = []

    class Done:
        returncode = 0

    def fake_run(cmd, env=None):
        calls.append(cmd)
        wd = cmd[cmd.index('--work-dir') + 1]
        _write_run(wd, '20250102_000000', {2: (25.0, 35.0)})
        return Done()

    monkeypatch.setattr(tool.subprocess, 'run', fake_run)
    summary = tool.main([
        'mafw', '--folds', '1', '2', '3', '--work-dir-root',
        str(root), '--data-root', '/data/MAFW', '--choice', 'last', '--out',
        str(tmp_path / 'cv'), '--', '--seed', '1'
    ])
    assert [c[c.index('--work-dir') + 1]
            for c in calls] == [str(stopped),
                                str(root / 'stt_mafw_fold3')]
    assert calls[0][2].endswith('stt_mafw_fold2.py')
    assert '--resume' in calls[0] and '--resume' not in calls[1]
    for cmd in calls:
        assert cmd[-2:] == ['--cfg-options', 'data_root=/data/MAFW']
        assert '--seed' in cmd
    assert all(
        tool.fold_finished(str(root / f'stt_mafw_fold{k}')) for k in (1, 2, 3))
    assert summary['folds']['1']['epoch'] == 1  # not retrained
    assert summary['folds']['2']['epoch'] == 2
    # a rerun trains nothing
    calls.clear()
    tool.main([
        'mafw', '--folds', '1', '2', '3', '--work-dir-root',
        str(root), '--out',
        str(tmp_path / 'cv2'), '--choice', 'last'
    ])
    assert calls == []


def test_old_name_is_the_dfew_runner(load_tool) -> None:
    old = load_tool('dfew_cross_validation.py')
    args = old.parse_args(['--folds', '2', '--data-root', '/d'])
    assert args.dataset == 'dfew' and args.data_root == '/d'
    assert args.config_tmpl.endswith(osp.join('configs', 'stt_dfew_fold{}.py'))
    new = load_tool('cross_validation.py')
    mafw = new.parse_args(['mafw'])
    assert mafw.config_tmpl.endswith('stt_mafw_fold{}.py')
    assert mafw.folds == [1, 2, 3, 4, 5]
