# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/per_scene_metrics.py on a dump like tools/test.py's."""
import json
import os
import pickle

import pytest
import torch
from mmengine.fileio import dump

LIST = ('Action/Sad/0000 Sad\r\nAction/Happy/0000 Happy\r\n'
        'Action/Fear/0003 Fear\r\nWar/Sad/0000 Sad\r\nWar/Sad/0001 Sad\r\n'
        'War/Angry/0000 Angry\r\n')
# (clip, ground truth, prediction) in list order
CASES = [('Action/Sad/0000', 1, 1), ('Action/Happy/0000', 0, 1),
         ('Action/Fear/0003', 6, 6), ('War/Sad/0000', 1, 1),
         ('War/Sad/0001', 1, 3), ('War/Angry/0000', 3, 3)]


@pytest.fixture
def tool(load_tool):
    return load_tool('analysis/per_scene_metrics.py')


def _dump(path, with_clip_id=True, order=None) -> str:
    samples = []
    for i in order or range(len(CASES)):
        clip, gt, pred = CASES[i]
        score = torch.full((7, ), 0.02)
        score[pred] = 0.8
        sample = dict(
            gt_label=torch.tensor([gt]),
            pred_score=score,
            pred_label=torch.tensor([pred]),
            sample_idx=i,
            num_classes=7)
        if with_clip_id:
            sample['clip_id'] = clip
        samples.append(sample)
    dump(samples, str(path))  # what DumpResults does
    return str(path)


def test_per_scene_numbers(tool, tmp_path) -> None:
    ann = tmp_path / 'test_All.csv'
    ann.write_bytes(LIST.encode())
    # distributed padding repeats sample 0 at the end
    pkl = _dump(tmp_path / 'preds.pkl', order=[0, 1, 2, 3, 4, 5, 0])
    table = tool.main([pkl, str(ann), '--out', str(tmp_path / 'ps')])
    action, war = table['scenes']['Action'], table['scenes']['War']
    # Action: sad 1/1, happy 0/1, fear 1/1
    assert action['clips'] == 3 and action['classes_present'] == 3
    assert action['war'] == pytest.approx(200 / 3)
    assert action['uar'] == pytest.approx(200 / 3)
    # War: sad 1/2, angry 1/1 -> WAR 2/3, UAR (0.5 + 1) / 2
    assert war['clips'] == 3 and war['classes_present'] == 2
    assert war['war'] == pytest.approx(200 / 3)
    assert war['uar'] == pytest.approx(75.0)
    # all: 4/6 correct; recalls sad 2/3, happy 0, fear 1, angry 1
    assert table['all']['war'] == pytest.approx(400 / 6)
    assert table['all']['uar'] == pytest.approx(100 * (2 / 3 + 0 + 1 + 1) / 4)
    md = (tmp_path / 'ps.md').read_text()
    assert '| War | 3 | 2 | 75.00 | 66.67 |' in md
    assert '| all scenes | 6 | 4 |' in md
    assert json.loads(
        (tmp_path / 'ps.json').read_text()) == json.loads(json.dumps(table))


def test_match_by_sample_idx_and_wrong_list(tool, tmp_path) -> None:
    ann = tmp_path / 'test_All.csv'
    ann.write_bytes(LIST.encode())
    pkl = _dump(tmp_path / 'p.pkl', with_clip_id=False)
    table = tool.main([pkl, str(ann), '--out', str(tmp_path / 'a')])
    assert table['scenes']['War']['uar'] == pytest.approx(75.0)
    other = tmp_path / 'train_All.csv'
    other.write_bytes(
        LIST.replace('War/Sad/0001 Sad', 'War/Sad/0001 Happy').encode())
    with pytest.raises(ValueError, match=r'train_All\.csv:5; the dump was'):
        tool.main([pkl, str(other), '--out', str(tmp_path / 'b')])


def test_dump_cannot_run_code(tool, tmp_path) -> None:

    class Evil:

        def __reduce__(self):
            return (os.system, ('echo owned > ' + str(tmp_path / 'x'), ))

    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps([Evil()]))
    with pytest.raises(ValueError, match=r'evil\.pkl: not a tools/test'):
        tool.load_predictions(str(path))
    assert not (tmp_path / 'x').exists()
    bad = tmp_path / 'nan.pkl'
    dump([
        dict(
            gt_label=torch.tensor([0]),
            pred_score=torch.tensor([float('nan')] * 7))
    ], str(bad))
    with pytest.raises(ValueError, match='non-finite'):
        tool.load_predictions(str(bad))
