# Copyright (c) OpenMMLab. All rights reserved.
"""The data configs build and feed (1, 3, 16, 112, 112) uint8 clips."""
import copy
import os
import os.path as osp

import cv2
import pytest
import torch
from mmaction.registry import DATASETS, METRICS
from mmaction.utils import register_all_modules
from mmengine.config import Config

import mmstt  # noqa: F401

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    '_base_', 'datasets')


def _cfg(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))


@pytest.mark.parametrize('name', ['dfew', 'afew', 'dfer_sample'])
def test_paper_settings(name) -> None:
    cfg = _cfg(name)
    train, test = cfg.train_pipeline, cfg.test_pipeline
    assert train[0] == dict(
        type='DFERSampleFrames', clip_len=16, frames_per_segment=2)
    assert test[0]['test_mode'] is True and test[0]['frames_per_segment'] == 2
    crop = [t for t in train if t['type'] == 'RandomResizedCrop'][0]
    assert crop['area_range'] == (0.08, 1.0)
    assert crop['aspect_ratio_range'] == (3 / 4, 4 / 3)
    assert [t for t in train if t['type'] == 'Flip'][0]['flip_ratio'] == 0.5
    for pipeline in (train, test):
        assert [t for t in pipeline
                if t['type'] == 'Resize'][0]['scale'] == (112, 112)
        assert pipeline[-2] == dict(type='FormatShape', input_format='NCTHW')
        assert pipeline[-1]['type'] == 'PackActionInputs'
        assert 'sample_idx' in pipeline[-1]['meta_keys']
    assert not any(t['type'] == 'RandomResizedCrop' for t in test)
    assert cfg.val_evaluator['type'] == 'DFERMetric'
    assert cfg.test_dataloader.dataset.test_mode is True
    assert cfg.val_dataloader.sampler.shuffle is False


def _build(cfg_dataset: dict, data_root: str):
    cfg = copy.deepcopy(cfg_dataset)
    cfg['data_root'] = data_root
    return DATASETS.build(cfg)


def test_dfer_sample_config_feeds_the_model_shape(dfew_sample_root) -> None:
    register_all_modules()
    cfg = _cfg('dfer_sample')
    assert cfg.data_root == 'data/dfew_sample'
    train = _build(cfg.train_dataloader.dataset, dfew_sample_root)
    test = _build(cfg.test_dataloader.dataset, dfew_sample_root)
    assert (len(train), len(test)) == (17, 4)
    sample = train[0]
    assert sample['inputs'].shape == (1, 3, 16, 112, 112)
    assert sample['inputs'].dtype == torch.uint8
    first, second = test[1], test[1]
    assert torch.equal(first['inputs'], second['inputs'])
    assert first['data_samples'].sample_idx == 1
    assert first['data_samples'].gt_label.item() == test.get_data_info(
        1)['label']
    METRICS.build(cfg.val_evaluator)


def test_dfew_config_frames_and_video(dfew_sample_root) -> None:
    register_all_modules()
    cfg = _cfg('dfew')
    train = _build(cfg.train_dataloader.dataset, dfew_sample_root)
    assert train[2]['inputs'].shape == (1, 3, 16, 112, 112)
    video_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    video_cfg.update(media='video', pipeline=cfg.dfew_video_test_pipeline)
    video = _build(video_cfg, dfew_sample_root)
    frames = _build(cfg.test_dataloader.dataset, dfew_sample_root)
    a = video[0]['inputs'].float()
    b = frames[0]['inputs'].float()
    assert a.shape == b.shape == (1, 3, 16, 112, 112)
    # same clip, same frames: mp4 and JPEG compression differ a little
    assert float((a - b).abs().mean()) < 12


def _video_to_frames(video: str, out_dir: str, size: int = 64) -> None:
    """Write a video's frames (top-left crops) as a frame folder."""
    os.makedirs(out_dir)
    cap = cv2.VideoCapture(video)
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        i += 1
        cv2.imwrite(osp.join(out_dir, f'{i:05d}.jpg'), frame[:size, :size])
    cap.release()


def test_afew_config_on_face_folders(tmp_path, afew_sample_root) -> None:
    register_all_modules()
    cfg = _cfg('afew')
    faces = str(tmp_path / 'faces')
    for split in ('Train_AFEW', 'Val_AFEW'):
        for cls in ('Happy', 'Fear'):
            src = osp.join(afew_sample_root, split, cls)
            for video in sorted(os.listdir(src)):
                _video_to_frames(
                    osp.join(src, video),
                    osp.join(faces, split, cls,
                             osp.splitext(video)[0]))
    train = _build(cfg.train_dataloader.dataset, faces)
    val = _build(cfg.val_dataloader.dataset, faces)
    assert (len(train), len(val)) == (4, 2)
    labels = sorted(val.get_data_info(i)['label'] for i in range(2))
    assert labels == [0, 6]  # happy, fear in DFEW order
    assert val[0]['inputs'].shape == (1, 3, 16, 112, 112)
    assert train[0]['inputs'].dtype == torch.uint8


def test_released_layout_configs() -> None:
    """FERV39k (7 classes) and MAFW (11) configs carry the paper recipe."""
    top = osp.dirname(osp.dirname(CONFIG_DIR))
    ferv = Config.fromfile(osp.join(top, 'stt_ferv39k.py'))
    assert ferv.data_root == 'data/FERV39k'
    assert ferv.model.cls_head.num_classes == 7
    assert ferv.model.neck.depth == 4 and ferv.model.neck.embed_dims == 512
    assert ferv.optim_wrapper.optimizer.lr == 0.01
    assert ferv.train_cfg.max_epochs == 100
    assert ferv.dfer_checkpoint in ('best', 'last')
    assert ferv.train_dataloader.dataset.split == 'train'
    assert ferv.test_dataloader.dataset.split == 'test'
    for fold in range(1, 6):
        mafw = Config.fromfile(osp.join(top, f'stt_mafw_fold{fold}.py'))
        assert mafw.data_root == 'data/MAFW'
        assert mafw.model.cls_head.num_classes == 11
        assert mafw.model.cls_head.loss_cls.num_classes == 11
        assert mafw.val_dataloader.dataset.fold == fold
        assert mafw.train_dataloader.dataset.frame_dir == 'data/frames'
    afew = Config.fromfile(osp.join(top, 'stt_afew.py'))
    assert afew.load_head == 'map_classes'


def test_mafw_videos_through_the_video_pipeline(mafw_sample_root) -> None:
    register_all_modules()
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'mafw.py'))
    frames_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    video_cfg = copy.deepcopy(frames_cfg)
    video_cfg.update(media='video', pipeline=cfg.dfew_video_test_pipeline)
    frames = _build(frames_cfg, mafw_sample_root)
    video = _build(video_cfg, mafw_sample_root)
    assert len(video) == len(frames) == 11
    i = 1
    assert video.get_data_info(i)['clip_id'] == frames.get_data_info(
        i)['clip_id']
    a = video[i]['inputs'].float()
    b = frames[i]['inputs'].float()
    assert a.shape == b.shape == (1, 3, 16, 112, 112)
    # the same clip decoded from H.264 and from its JPEG/PNG frames
    assert float((a - b).abs().mean()) < 12
