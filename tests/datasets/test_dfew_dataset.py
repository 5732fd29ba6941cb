# Copyright (c) OpenMMLab. All rights reserved.
import csv
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmaction.utils import register_all_modules

import mmstt  # noqa: F401
from mmstt.datasets import DFER_CLASSES, DFERDataError, DFEWDataset

FRAME_PIPE = [
    dict(type='DFERSampleFrames', clip_len=16, test_mode=True),
    dict(type='FrameFolderDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'clip_id'))
]
VIDEO_PIPE = [dict(type='DFERVideoInit')] + [
    t if t['type'] != 'FrameFolderDecode' else dict(type='DFERVideoDecode')
    for t in FRAME_PIPE
]


def _csv_rows(root: str, split: str, fold: int) -> list:
    path = osp.join(root, 'EmoLabel_DataSplit', f'{split}(single-labeled)',
                    f'set_{fold}.csv')
    with open(path) as f:
        return [(f'{int(r["video_name"]):05d}', int(r['label']) - 1)
                for r in csv.DictReader(f)]


@pytest.mark.parametrize('fold', [1, 2, 3, 4, 5])
def test_every_fold_matches_split_files(dfew_sample_root, fold) -> None:
    for split in ('train', 'test'):
        ds = DFEWDataset(dfew_sample_root, fold=fold, split=split)
        expected = _csv_rows(dfew_sample_root, split, fold)
        got = [(ds.get_data_info(i)['clip_id'], ds.get_data_info(i)['label'])
               for i in range(len(ds))]
        assert got == expected
    assert ds.metainfo['classes'] == DFER_CLASSES


def test_records_and_short_clip_log(dfew_sample_root, mm_log) -> None:
    ds = DFEWDataset(dfew_sample_root, fold=1, split='train')
    info = ds.get_data_info(0)
    folder = osp.join(dfew_sample_root, 'Clip', 'clip_224x224',
                      info['clip_id'])
    assert info['frame_dir'] == folder
    assert info['total_frames'] == len(os.listdir(folder))
    assert info['frame_files'][:2] == ['00001.jpg', '00002.jpg']
    assert info['source'].endswith('set_1.csv:2')
    assert info['sample_idx'] == 0 and info['start_index'] == 0
    short = sum(
        ds.get_data_info(i)['total_frames'] < 16 for i in range(len(ds)))
    assert short >= 1
    log = mm_log()
    assert f'{short} clip(s) have fewer than 16 frames' in log
    assert f'{len(ds)} clips (happy' in log


def test_short_clips_are_kept_and_padded(dfew_sample_root) -> None:
    register_all_modules()
    ds = DFEWDataset(
        dfew_sample_root, fold=1, split='train', pipeline=FRAME_PIPE)
    idx = [
        i for i in range(len(ds)) if ds.get_data_info(i)['total_frames'] < 16
    ][0]
    n = ds.get_data_info(idx)['total_frames']
    clip = ds[idx]['inputs']  # (1, 3, 16, 32, 32)
    assert clip.shape == (1, 3, 16, 32, 32)
    for t in range(n, 16):  # repeated last frame
        assert torch.equal(clip[0, :, t], clip[0, :, n - 1])
    assert not torch.equal(clip[0, :, 0], clip[0, :, n - 1])


def test_mmengine_dataset_options_still_work(dfew_sample_root) -> None:
    lazy = DFEWDataset(dfew_sample_root, fold=1, split='test', lazy_init=True)
    assert not lazy._fully_initialized
    lazy.full_init()
    plain = DFEWDataset(
        dfew_sample_root, fold=1, split='test', serialize_data=False)
    assert len(lazy) == len(plain) == 4
    assert lazy.get_data_info(3) == plain.get_data_info(3)
    subset = DFEWDataset(
        dfew_sample_root, fold=1, split='test', indices=[0, 2])
    assert [subset.get_data_info(i)['clip_id'] for i in range(2)] == [
        plain.get_data_info(0)['clip_id'],
        plain.get_data_info(2)['clip_id']
    ]
    assert plain.get_cat_ids(1) == [plain.get_data_info(1)['label']]


def test_arbitrary_frame_names_are_sorted_numerically(dfew_sample_root,
                                                      tmp_path) -> None:
    register_all_modules()
    root = tmp_path / 'dfew'
    split = root / 'EmoLabel_DataSplit' / 'test(single-labeled)'
    split.mkdir(parents=True)
    (split / 'set_1.csv').write_text('video_name,label\n4,2\n')
    src = osp.join(dfew_sample_root, 'Clip', 'clip_224x224', '00004')
    dst = root / 'Clip' / 'clip_224x224' / '00004'
    dst.mkdir(parents=True)
    names = sorted(os.listdir(src))
    for i, name in enumerate(names):  # 1.jpg, 2.jpg, ... 10.jpg ...
        shutil.copy(osp.join(src, name), dst / f'{i + 1}.jpg')
    renamed = DFEWDataset(
        str(root), fold=1, split='test', pipeline=FRAME_PIPE, test_mode=True)
    assert renamed.get_data_info(0)['frame_files'][:3] == [
        '1.jpg', '2.jpg', '3.jpg'
    ]
    original = DFEWDataset(
        dfew_sample_root,
        fold=1,
        split='test',
        pipeline=FRAME_PIPE,
        test_mode=True,
        ann_file=str(split / 'set_1.csv'))
    assert torch.equal(renamed[0]['inputs'], original[0]['inputs'])


def test_official_split_file_names(dfew_sample_root, tmp_path) -> None:
    root = tmp_path / 'dfew'
    shutil.copytree(
        osp.join(dfew_sample_root, 'EmoLabel_DataSplit'),
        root / 'EmoLabel_DataSplit')
    os.symlink(osp.join(dfew_sample_root, 'Clip'), root / 'Clip')
    for split in ('train', 'test'):
        folder = root / 'EmoLabel_DataSplit' / f'{split}(single-labeled)'
        for fold in range(1, 6):
            os.rename(folder / f'set_{fold}.csv',
                      folder / f'single_{split}set_{fold}.csv')
    ds = DFEWDataset(str(root), fold=3, split='train')
    ref = DFEWDataset(dfew_sample_root, fold=3, split='train')
    assert len(ds) == len(ref) == 16


def test_former_dfer_list_file(dfew_sample_root, tmp_path, mm_log) -> None:
    ref = DFEWDataset(dfew_sample_root, fold=2, split='test')
    lines = []
    for i in range(len(ref)):
        info = ref.get_data_info(i)
        count = info['total_frames'] + (1 if i == 0 else 0)  # one mismatch
        # absolute, root-relative and foreign paths are all resolved
        folder = [
            info['frame_dir'],
            osp.relpath(info['frame_dir'], dfew_sample_root),
            '/elsewhere/clip_224x224_16f/' + info['clip_id'],
        ][i % 3]
        lines.append(f'{folder} {count} {info["label"]}')
    list_file = tmp_path / 'test_2.txt'
    list_file.write_text('\n'.join(lines) + '\n')
    ds = DFEWDataset(
        dfew_sample_root, fold=2, split='test', ann_file=str(list_file))
    for i in range(len(ref)):
        for key in ('frame_dir', 'label', 'total_frames', 'clip_id'):
            assert ds.get_data_info(i)[key] == ref.get_data_info(i)[key]
    assert '1 clip(s) of' in mm_log() and 'test_2.txt:1' in mm_log()


def test_original_videos(dfew_sample_root) -> None:
    register_all_modules()
    ds = DFEWDataset(
        dfew_sample_root,
        fold=1,
        split='test',
        media='video',
        pipeline=VIDEO_PIPE,
        test_mode=True)
    info = ds.get_data_info(0)
    assert info['filename'] == osp.join(dfew_sample_root, 'Clip', 'original',
                                        info['clip_id'] + '.mp4')
    frames = DFEWDataset(
        dfew_sample_root,
        fold=1,
        split='test',
        pipeline=FRAME_PIPE,
        test_mode=True)
    a, b = ds[0]['inputs'].float(), frames[0]['inputs'].float()
    assert a.shape == b.shape == (1, 3, 16, 32, 32)
    assert float((a - b).abs().mean()) < 12


def test_argument_checks(dfew_sample_root) -> None:
    with pytest.raises(ValueError, match='fold'):
        DFEWDataset(dfew_sample_root, fold=6)
    with pytest.raises(ValueError, match='split'):
        DFEWDataset(dfew_sample_root, split='val')
    with pytest.raises(ValueError, match='media'):
        DFEWDataset(dfew_sample_root, media='audio')
    with pytest.raises(ValueError, match='on_bad_clip'):
        DFEWDataset(dfew_sample_root, on_bad_clip='ignore')
    with pytest.raises(DFERDataError, match='not_there.csv'):
        DFEWDataset(dfew_sample_root, ann_file='not_there.csv')
    with pytest.raises(DFERDataError, match='split file of fold 1'):
        DFEWDataset(osp.join(dfew_sample_root, 'Clip'))


def test_labels_cover_all_classes(dfew_sample_root) -> None:
    ds = DFEWDataset(dfew_sample_root, fold=1, split='train')
    labels = np.array([ds.get_data_info(i)['label'] for i in range(len(ds))])
    assert set(labels.tolist()) == set(range(7))


def test_short_clip_count_follows_the_sampler(dfew_sample_root,
                                              mm_log) -> None:
    register_all_modules()
    ds = DFEWDataset(
        dfew_sample_root,
        fold=1,
        split='train',
        pipeline=[dict(type='DFERSampleFrames', clip_len=8)])
    assert ds.clip_len == 8
    lengths = [ds.get_data_info(i)['total_frames'] for i in range(len(ds))]
    assert f'{sum(n < 8 for n in lengths)} clip(s) have fewer than 8' in (
        mm_log())
    assert DFEWDataset(dfew_sample_root, clip_len=12).clip_len == 12
    DFEWDataset(dfew_sample_root, media='video', count_video_frames=False)
    assert 'video frame counts not probed' in mm_log()
