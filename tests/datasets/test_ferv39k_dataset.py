# Copyright (c) OpenMMLab. All rights reserved.
"""FERV39kDataset on the generated look-alike in the released layout."""
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
from mmstt.datasets import DFER_CLASSES, DFERDataError, FERV39kDataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_reads_both_splits(ferv39k_sample_root) -> None:
    train = FERV39kDataset(ferv39k_sample_root, split='train')
    test = FERV39kDataset(ferv39k_sample_root, split='test')
    assert (len(train), len(test)) == (14, 7)
    assert train.metainfo['classes'] == DFER_CLASSES
    for ds in (train, test):
        labels = sorted(ds.get_data_info(i)['label'] for i in range(len(ds)))
        assert set(labels) == set(range(7))
    keys = [train.get_data_info(i)['clip_id'] for i in range(len(train))]
    assert len(set(keys)) == len(keys)
    # the id 0000 repeats in several folders: keys are whole paths
    assert sum(k.endswith('/0000') for k in keys) > 1
    for i in range(len(train)):
        info = train.get_data_info(i)
        scene, emotion, number = info['clip_id'].split('/')
        assert info['scene'] == scene
        assert DFER_CLASSES[info['label']] == emotion.lower()
        assert info['frame_dir'] == osp.join(ferv39k_sample_root,
                                             '2_ClipsforFaceCrop', scene,
                                             emotion, number)


def test_frames_sorted_numerically_and_counted(ferv39k_sample_root) -> None:
    ds = FERV39kDataset(ferv39k_sample_root, split='train')
    zero_named = [
        ds.get_data_info(i) for i in range(len(ds))
        if ds.get_data_info(i)['frame_files'][0] == '0.jpg'
    ]
    assert zero_named, 'the look-alike names some clips 0.jpg ... N.jpg'
    for info in zero_named:
        n = info['total_frames']
        assert info['frame_files'] == [f'{k}.jpg' for k in range(n)]
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        on_disk = [
            f for f in os.listdir(info['frame_dir']) if f.endswith('.jpg')
        ]
        assert info['total_frames'] == len(on_disk)


def test_missing_folder_names_folder_and_line(ferv39k_sample_root,
                                              tmp_path) -> None:
    root = tmp_path / 'f'
    shutil.copytree(ferv39k_sample_root, root)
    lines = (root / '4_setups' / 'All_scenes' /
             'test_All.csv').read_text().splitlines()
    clip = lines[2].split()[0]
    shutil.rmtree(root / '2_ClipsforFaceCrop' / clip)
    with pytest.raises(
            DFERDataError, match=r'test_All\.csv:3: frame folder .* does not'):
        FERV39kDataset(str(root), split='test')


def test_video_needs_video_dir_and_split_checked(tmp_path) -> None:
    with pytest.raises(ValueError, match='video_dir'):
        FERV39kDataset(str(tmp_path), media='video')
    with pytest.raises(ValueError, match='split'):
        FERV39kDataset(str(tmp_path), split='val')
    with pytest.raises(DFERDataError, match=r'test_All\.csv does not exist'):
        FERV39kDataset(str(tmp_path), split='test')


def test_config_feeds_the_model_shape(ferv39k_sample_root) -> None:
    register_all_modules()
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'datasets', 'ferv39k.py'))
    assert cfg.data_root == 'data/FERV39k'
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    ds_cfg['data_root'] = ferv39k_sample_root
    ds = DATASETS.build(ds_cfg)
    sample = ds[3]
    assert sample['inputs'].shape == (1, 3, 16, 112, 112)
    assert sample['inputs'].dtype == torch.uint8
    assert sample['data_samples'].clip_id == ds.get_data_info(3)['clip_id']
    assert sample['data_samples'].gt_label.item() == ds.get_data_info(
        3)['label']


def test_video_tree(ferv39k_sample_root, tmp_path) -> None:
    import cv2

    from mmstt.datasets import write_video
    videos = tmp_path / 'videos'
    ds = FERV39kDataset(ferv39k_sample_root, split='test')
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        frames = [
            cv2.cvtColor(
                cv2.imread(osp.join(info['frame_dir'], f)), cv2.COLOR_BGR2RGB)
            for f in info['frame_files']
        ]
        path = videos.joinpath(*info['clip_id'].split('/'))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(str(path) + '.mp4', frames, fps=25.0)
    video = FERV39kDataset(
        ferv39k_sample_root,
        split='test',
        media='video',
        video_dir=str(videos),
        count_video_frames=False)
    assert len(video) == 7
    for i in range(len(video)):
        info = video.get_data_info(i)
        assert info['filename'] == str(
            videos.joinpath(*info['clip_id'].split('/'))) + '.mp4'
        assert info['scene'] == info['clip_id'].split('/')[0]
    # a clip without its video is named with its list line
    os.remove(video.get_data_info(4)['filename'])
    with pytest.raises(DFERDataError, match=r'test_All\.csv:5: video .*'):
        FERV39kDataset(
            ferv39k_sample_root,
            split='test',
            media='video',
            video_dir=str(videos))
