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


def _samples(preds, gts, with_idx=True, start=0) -> list:
    out = []
    for i, (p, g) in enumerate(zip(preds, gts)):
        score = torch.full((7, ), 0.01)
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
    metric = DFERMetric(out_dir=str(tmp_path / 'cm'))
    metric.process(None, _samples(PRED, GT))
    metric.evaluate(len(GT))
    json_path = tmp_path / 'cm' / 'dfer_confusion_matrix.json'
    png_path = tmp_path / 'cm' / 'dfer_confusion_matrix.png'
    assert metric.written_files == [str(json_path), str(png_path)]
    record = json.loads(json_path.read_text())
    assert record['classes'] == list(DFER_CLASSES)
    assert record['confusion_matrix'] == CONFUSION.tolist()
    assert record['num_samples'] == 10
    assert record['recall'][4:] == [None, None, None]
    assert record['uar'] == pytest.approx(UAR / 100)
    assert png_path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_files_go_to_the_log_folder(mm_log, tmp_path) -> None:
    metric = DFERMetric(prefix='val')
    metric.process(None, _samples(PRED, GT))
    out = metric.evaluate(len(GT))
    assert 'val/uar' in out
    assert osp.isfile(tmp_path / 'val_confusion_matrix.json')
    assert osp.isfile(tmp_path / 'val_confusion_matrix.png')
    log = mm_log()
    assert 'WAR 70.00, UAR 79.17' in log
    assert 'neutral' in log and '50.00' in log


def test_no_files_when_disabled(tmp_path) -> None:
    metric = DFERMetric(save_confusion_matrix=False, out_dir=str(tmp_path))
    metric.process(None, _samples(PRED, GT))
    metric.evaluate(len(GT))
    assert metric.written_files == []
    assert not osp.exists(tmp_path / 'dfer_confusion_matrix.json')


def test_padded_duplicates_are_dropped_by_sample_idx(tmp_path) -> None:
    metric = DFERMetric(out_dir=str(tmp_path))
    samples = _samples(PRED, GT)
    # a sampler that repeats samples 0 and 7 to pad, not at the end
    metric.process(None, [samples[7]] + samples + [samples[0]])
    out = metric.evaluate(len(GT))
    assert out['dfer/war'] == pytest.approx(WAR)
    assert out['dfer/uar'] == pytest.approx(UAR)


def test_without_sample_idx_keeps_first_size(tmp_path) -> None:
    metric = DFERMetric(out_dir=str(tmp_path))
    samples = _samples(PRED, GT, with_idx=False)
    metric.process(None, samples + samples[:2])  # DefaultSampler padding
    out = metric.evaluate(len(GT))
    assert out['dfer/war'] == pytest.approx(WAR)


def test_missing_samples_are_reported(tmp_path, mm_log) -> None:
    metric = DFERMetric(out_dir=str(tmp_path))
    metric.process(None, _samples(PRED[:8], GT[:8]))
    out = metric.evaluate(len(GT))
    # only 8 distinct samples: computed on those, with a warning
    assert out['dfer/war'] == pytest.approx(100 * 6 / 8)
    assert '8 distinct samples evaluated, the data set has 10' in mm_log()


def test_prediction_from_scores_and_errors(tmp_path) -> None:
    metric = DFERMetric(out_dir=str(tmp_path))
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
