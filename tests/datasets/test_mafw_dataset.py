# Copyright (c) OpenMMLab. All rights reserved.
"""MAFWDataset on the generated look-alike in the released layout."""
import copy
import os
import os.path as osp
import shutil

import pytest
import torch
from mmaction.registry import DATASETS
from mmaction.utils import register_all_modules
from mmengine.config import Config

import mmstt  # noqa: F401
from mmstt.datasets import MAFW_CLASSES, DFERDataError, MAFWDataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _ids(ds) -> set:
    return {ds.get_data_info(i)['clip_id'] for i in range(len(ds))}


def test_five_folds_partition_and_every_class(mafw_sample_root) -> None:
    tests = []
    for fold in range(1, 6):
        train = MAFWDataset(mafw_sample_root, fold=fold, split='train')
        test = MAFWDataset(mafw_sample_root, fold=fold, split='test')
        assert train.metainfo['classes'] == MAFW_CLASSES
        assert len(MAFW_CLASSES) == 11
        assert (len(train), len(test)) == (44, 11)
        assert not _ids(train) & _ids(test)
        for ds in (train, test):
            assert {ds.get_data_info(i)['label']
                    for i in range(len(ds))} == set(range(11))
        tests.append(_ids(test))
    assert len(set.union(*tests)) == 55 == sum(len(t) for t in tests)


def test_labels_by_name_and_counts_from_disk(mafw_sample_root) -> None:
    ds = MAFWDataset(mafw_sample_root, fold=1, split='train')
    lines = open(
        osp.join(mafw_sample_root, 'Train & Test Set', 'single', 'no_caption',
                 'set_1', 'train.txt'),
        newline='').read().split('\r\n')
    spelled = dict(l.split() for l in lines if l)  # noqa: E741
    to_project = dict(
        anger='angry',
        happiness='happy',
        sadness='sad',
    )
    exts = set()
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        name = spelled[info['clip_id'] + '.mp4']
        assert MAFW_CLASSES[info['label']] == to_project.get(name, name)
        files = sorted(os.listdir(info['frame_dir']))
        assert info['total_frames'] == len(files)
        exts.add(osp.splitext(info['frame_files'][0])[1])
        if info['frame_files'][0].startswith('0.'):
            ext = osp.splitext(info['frame_files'][0])[1]
            assert info['frame_files'] == [
                f'{k}{ext}' for k in range(info['total_frames'])
            ]
    assert exts == {'.jpg', '.png'}


def test_frame_dir_option_and_video_mode(mafw_sample_root, tmp_path) -> None:
    root = tmp_path / 'm'
    shutil.copytree(
        osp.join(mafw_sample_root, 'Train & Test Set'),
        root / 'Train & Test Set')
    shutil.copytree(
        osp.join(mafw_sample_root, 'data', 'frames'), root / 'data' / 'faces')
    with pytest.raises(DFERDataError, match=r'test\.txt:1: frame folder'):
        MAFWDataset(str(root), fold=2, split='test')
    ds = MAFWDataset(str(root), fold=2, split='test', frame_dir='data/faces')
    assert len(ds) == 11
    assert ds.get_data_info(0)['frame_dir'].startswith(
        str(root / 'data' / 'faces'))
    video = MAFWDataset(
        mafw_sample_root,
        fold=2,
        split='test',
        media='video',
        count_video_frames=False)
    info = video.get_data_info(0)
    assert info['filename'] == osp.join(mafw_sample_root, 'data', 'clips',
                                        info['clip_id'] + '.mp4')


def test_other_tasks_are_refused(mafw_sample_root, tmp_path) -> None:
    caption = tmp_path / 'with_caption' / 'set_1' / 'train.txt'
    caption.parent.mkdir(parents=True)
    caption.write_bytes(b'00001.mp4\tanger\tx\ty\r\n')
    with pytest.raises(DFERDataError, match='caption lists'):
        MAFWDataset(mafw_sample_root, ann_file=str(caption))
    with pytest.raises(ValueError, match='fold'):
        MAFWDataset(mafw_sample_root, fold=0)


def test_config_feeds_an_11_class_model(mafw_sample_root) -> None:
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'stt_mafw_fold3.py'))
    assert cfg.data_root == 'data/MAFW'
    assert cfg.model.cls_head.num_classes == 11
    assert cfg.model.cls_head.loss_cls.num_classes == 11
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.fold == 3
        assert cfg[key].dataset.type == 'MAFWDataset'
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg['data_root'] = mafw_sample_root
    ds = DATASETS.build(ds_cfg)
    sample = ds[0]
    assert sample['inputs'].shape == (1, 3, 16, 112, 112)
    assert sample['inputs'].dtype == torch.uint8
