# Copyright (c) OpenMMLab. All rights reserved.
import json
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmaction.evaluation.functional import mean_class_accuracy
from mmaction.registry import METRICS
from mmaction.structures import ActionDataSample

import mmstt  # noqa: F401
from mmstt.datasets import DFER_CLASSES
from mmstt.evaluation import DFERMetric, dfer_scores

# Hand-checked case. Class 6 (fear) is predicted once but never occurs in
# the ground truth; classes 4, 5, 6 have no ground-truth sample.
GT = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
PRED = [0, 0, 1, 1, 1, 2, 2, 0, 6, 3]
# correct: 7 of 10; recalls: happy 2/3, sad 2/2, neutral 2/4, angry 1/1
WAR = 70.0
UAR = 100 * (2 / 3 + 1 + 0.5 + 1) / 4  # 79.1666...
CONFUSION = np.zeros((7, 7), int)
for _g, _p in zip(GT, PRED):
    CONFUSION[_g, _p] += 1


def _metric(**kwargs) -> DFERMetric:
    """A DFERMetric as the Runner's loops set it up for a DFEW data set."""
    metric = DFERMetric(**kwargs)
    metric.dataset_meta = dict(classes=DFER_CLASSES)
    return metric


def _samples(preds, gts, with_idx=True, start=0, k=7) -> list:
    out = []
    for i, (p, g) in enumerate(zip(preds, gts)):
        score = torch.full((k, ), 0.01)
        score[p] = 0.9
        sample = ActionDataSample().set_gt_label(g).set_pred_score(
            score).set_pred_label(p)
        if with_idx:
            sample.set_metainfo(dict(sample_idx=start + i))
        out.append(sample.to_dict())
    return out


def test_scores_by_hand() -> None:
    scores = dfer_scores(PRED, GT, 7)
    assert scores['war'] == pytest.approx(0.7)
    assert scores['uar'] == pytest.approx(UAR / 100)
    np.testing.assert_array_equal(scores['confusion'], CONFUSION)
    np.testing.assert_array_equal(scores['support'], [3, 2, 4, 1, 0, 0, 0])
    np.testing.assert_allclose(scores['recall'][:4], [2 / 3, 1, 0.5, 1])
    assert np.isnan(scores['recall'][4:]).all()


def test_uar_is_not_mmaction_mean_class_accuracy() -> None:
    onehot = [np.eye(7)[p] for p in PRED]
    mmaction_mean = mean_class_accuracy(onehot, GT)
    # mmaction averages over classes in gt OR predictions: adds fear = 0
    assert mmaction_mean == pytest.approx((2 / 3 + 1 + 0.5 + 1 + 0) / 5)
    assert dfer_scores(PRED, GT, 7)['uar'] != pytest.approx(mmaction_mean)


def test_metric_keys_and_values(tmp_path) -> None:
    metric = METRICS.build(dict(type='DFERMetric', out_dir=str(tmp_path)))
    metric.dataset_meta = dict(classes=DFER_CLASSES)
    metric.process(None, _samples(PRED[:4], GT[:4]))
    metric.process(None, _samples(PRED[4:], GT[4:], start=4))
    out = metric.evaluate(len(GT))
    assert out['dfer/war'] == pytest.approx(WAR)
    assert out['dfer/uar'] == pytest.approx(UAR)
    assert out['dfer/recall_happy'] == pytest.approx(200 / 3)
    assert out['dfer/recall_sad'] == pytest.approx(100.0)
    assert out['dfer/recall_neutral'] == pytest.approx(50.0)
    assert out['dfer/recall_angry'] == pytest.approx(100.0)
    for name in ('surprise', 'disgust', 'fear'):
        assert math.isnan(out[f'dfer/recall_{name}'])
    assert list(out)[:2] == ['dfer/war', 'dfer/uar']
    assert len(out) == 2 + len(DFER_CLASSES)
    assert metric.results == []  # reset for the next evaluation


def test_confusion_matrix_files(tmp_path) -> None:
    metric = _metric(out_dir=str(tmp_path / 'cm'))
    metric.process(None, _samples(PRED, GT))
    metric.evaluate(len(GT))
    json_path = tmp_path / 'cm' / 'dfer_confusion_matrix.json'
    png_path = tmp_path / 'cm' / 'dfer_confusion_matrix.png'
    assert metric.written_files == [str(json_path), str(png_path)]
    record = json.loads(json_path.read_text())
    assert record['classes'] == list(DFER_CLASSES)
    assert record['confusion_matrix'] == CONFUSION.tolist()
    percent = record['confusion_matrix_percent']
    for i, row in enumerate(CONFUSION):
        if row.sum():
            np.testing.assert_allclose(
                percent[i], 100 * row / row.sum(), atol=1e-3)
        else:
            assert percent[i] == [None] * 7
    assert record['num_samples'] == 10
    assert record['recall'][4:] == [None, None, None]
    # percent, like the logged metrics
    assert record['uar'] == pytest.approx(UAR)
    assert record['war'] == pytest.approx(WAR)
    assert record['recall'][2] == pytest.approx(50.0)
    assert png_path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_files_go_to_the_log_folder(mm_log, tmp_path) -> None:
    metric = _metric(prefix='val')
    metric.process(None, _samples(PRED, GT))
    out = metric.evaluate(len(GT))
    assert 'val/uar' in out
    assert osp.isfile(tmp_path / 'val_confusion_matrix.json')
    assert osp.isfile(tmp_path / 'val_confusion_matrix.png')
    log = mm_log()
    assert 'WAR 70.00, UAR 79.17' in log
    assert 'neutral' in log and '50.00' in log
    # the logged matrix is in percent of each true class: happy row
    happy_row = [
        line for line in log.splitlines() if line.startswith('happy ')
    ][0]
    assert happy_row.split()[1:3] == ['66.7', '33.3']


def test_no_files_when_disabled(tmp_path) -> None:
    metric = _metric(save_confusion_matrix=False, out_dir=str(tmp_path))
    metric.process(None, _samples(PRED, GT))
    metric.evaluate(len(GT))
    assert metric.written_files == []
    assert not osp.exists(tmp_path / 'dfer_confusion_matrix.json')


def test_padded_duplicates_are_dropped_by_sample_idx(tmp_path) -> None:
    metric = _metric(out_dir=str(tmp_path))
    samples = _samples(PRED, GT)
    # a sampler that repeats samples 0 and 7 to pad, not at the end
    metric.process(None, [samples[7]] + samples + [samples[0]])
    out = metric.evaluate(len(GT))
    assert out['dfer/war'] == pytest.approx(WAR)
    assert out['dfer/uar'] == pytest.approx(UAR)


def test_without_sample_idx_keeps_first_size(tmp_path) -> None:
    metric = _metric(out_dir=str(tmp_path))
    samples = _samples(PRED, GT, with_idx=False)
    metric.process(None, samples + samples[:2])  # DefaultSampler padding
    out = metric.evaluate(len(GT))
    assert out['dfer/war'] == pytest.approx(WAR)


def test_missing_samples_are_reported(tmp_path, mm_log) -> None:
    metric = _metric(out_dir=str(tmp_path))
    metric.process(None, _samples(PRED[:8], GT[:8]))
    out = metric.evaluate(len(GT))
    # only 8 distinct samples: computed on those, with a warning
    assert out['dfer/war'] == pytest.approx(100 * 6 / 8)
    assert '8 distinct samples evaluated, the data set has 10' in mm_log()


def test_prediction_from_scores_and_errors(tmp_path) -> None:
    metric = _metric(out_dir=str(tmp_path))
    samples = _samples(PRED, GT)
    for s in samples:
        del s['pred_label']
    metric.process(None, samples)
    assert [r['pred'] for r in metric.results] == PRED
    assert metric.evaluate(len(GT))['dfer/uar'] == pytest.approx(UAR)
    with pytest.raises(ValueError, match='0..6'):
        dfer_scores([0, 7], [0, 1], 7)
    with pytest.raises(ValueError, match='2 predictions for 1'):
        dfer_scores([0, 1], [0], 7)
    with pytest.raises(ValueError, match='no sample'):
        dfer_scores([], [], 7)


def test_all_correct_and_single_class(tmp_path) -> None:
    scores = dfer_scores([3, 3, 3], [3, 3, 3], 7)
    assert scores['war'] == scores['uar'] == 1.0
    scores = dfer_scores([0, 1, 1, 1], [1, 1, 1, 1], 7)
    assert scores['war'] == scores['uar'] == 0.75


# 11 classes (MAFW's order): class 9 never occurs in the ground truth but
# is predicted; class 10 occurs and is never predicted right.
MAFW = ('happy', 'sad', 'neutral', 'angry', 'surprise', 'disgust', 'fear',
        'contempt', 'anxiety', 'helplessness', 'disappointment')
GT11 = [0, 1, 7, 7, 8, 8, 8, 10, 10, 2]
PRED11 = [0, 1, 7, 9, 8, 8, 0, 3, 10, 9]


def test_eleven_classes_from_dataset_meta(tmp_path) -> None:
    metric = DFERMetric(out_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=MAFW)
    metric.process(None, _samples(PRED11, GT11, k=11))
    out = metric.evaluate(len(GT11))
    recalls = {0: 1, 1: 1, 2: 0, 7: 0.5, 8: 2 / 3, 10: 0.5}
    assert out['dfer/uar'] == pytest.approx(100 * sum(recalls.values()) /
                                            len(recalls))
    assert out['dfer/war'] == pytest.approx(60.0)
    assert out['dfer/recall_contempt'] == pytest.approx(50.0)
    assert out['dfer/recall_anxiety'] == pytest.approx(200 / 3)
    assert math.isnan(out['dfer/recall_helplessness'])
    assert len(out) == 2 + 11
    record = json.loads((tmp_path / 'dfer_confusion_matrix.json').read_text())
    assert record['classes'] == list(MAFW)
    assert np.asarray(record['confusion_matrix']).shape == (11, 11)
    assert record['confusion_matrix'][7][9] == 1
    assert (tmp_path / 'dfer_confusion_matrix.png').stat().st_size > 0


def test_class_names_argument_and_mismatches(tmp_path) -> None:
    metric = DFERMetric(class_names=MAFW, out_dir=str(tmp_path))
    metric.process(None, _samples(PRED11, GT11, k=11))
    assert 'dfer/recall_disappointment' in metric.evaluate(len(GT11))
    # no names at all: a clear error, not a DFEW guess
    bare = DFERMetric(save_confusion_matrix=False)
    bare.process(None, _samples(PRED, GT))
    with pytest.raises(ValueError, match='does not know the class names'):
        bare.evaluate(len(GT))
    both = DFERMetric(class_names=MAFW)
    both.dataset_meta = dict(classes=DFER_CLASSES)
    with pytest.raises(ValueError, match='11 names but the data set has 7'):
        both.class_names
    # a 7-way head evaluated on an 11-class data set
    wrong = DFERMetric(save_confusion_matrix=False)
    wrong.dataset_meta = dict(classes=MAFW)
    wrong.process(None, _samples(PRED, GT, k=7))
    with pytest.raises(ValueError, match=r"outputs \[7\] scores .* 11 cl"):
        wrong.evaluate(len(GT))


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_scores_are_refused(bad) -> None:
    metric = _metric(save_confusion_matrix=False)
    samples = _samples(PRED, GT)
    samples[3]['pred_score'][2] = bad
    samples[3]['clip_id'] = '00042'
    with pytest.raises(
            ValueError,
            match='non-finite prediction scores .*sample_idx=3, '
            'clip_id=00042'):
        metric.process(None, samples)


def test_evaluation_imports_no_dataset_or_model() -> None:
    import ast

    import mmstt.evaluation.metrics.dfer_metric as module
    tree = ast.parse(open(module.__file__).read())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.append(('.' * node.level) + (node.module or ''))
        elif isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
    assert names, 'the module has imports'
    assert not [n for n in names if 'datasets' in n or 'models' in n], names
