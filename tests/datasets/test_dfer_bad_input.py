# Copyright (c) OpenMMLab. All rights reserved.
"""Bad input: errors name the file (and CSV line); on_bad_clip policy."""
import os.path as osp
import shutil
from typing import Sequence

import pytest
from mmaction.registry import TRANSFORMS
from mmaction.utils import register_all_modules
from mmcv.transforms import BaseTransform

import mmstt  # noqa: F401
from mmstt.datasets import CorruptClipError, DFERDataError, DFEWDataset

FRAME_PIPE = [
    dict(type='DFERSampleFrames', clip_len=16, test_mode=True),
    dict(type='FrameFolderDecode'),
    dict(type='Resize', scale=(16, 16), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'clip_id'))
]
VIDEO_PIPE = [dict(type='DFERVideoInit')] + [
    t if t['type'] != 'FrameFolderDecode' else dict(type='DFERVideoDecode')
    for t in FRAME_PIPE
]


@pytest.fixture(autouse=True)
def _mmaction_scope() -> None:
    register_all_modules()


def _mini_dfew(sample: str,
               root,
               ids: Sequence[int],
               labels: Sequence[str] = ()) -> str:
    """A DFEW copy whose fold-1 test split lists ``ids``."""
    split = root / 'EmoLabel_DataSplit' / 'test(single-labeled)'
    split.mkdir(parents=True)
    rows = list(labels) or [f'{i},{(i - 1) % 7 + 1}' for i in ids]
    (split / 'set_1.csv').write_text('video_name,label\n' + '\n'.join(rows) +
                                     '\n')
    for i in ids:
        clip = f'{i:05d}'
        shutil.copytree(
            osp.join(sample, 'Clip', 'clip_224x224', clip),
            root / 'Clip' / 'clip_224x224' / clip)
        (root / 'Clip' / 'original').mkdir(parents=True, exist_ok=True)
        shutil.copy(
            osp.join(sample, 'Clip', 'original', clip + '.mp4'),
            root / 'Clip' / 'original' / (clip + '.mp4'))
    return str(root)


def _dfew(root: str, **kwargs) -> DFEWDataset:
    kwargs.setdefault('pipeline', FRAME_PIPE)
    return DFEWDataset(root, fold=1, split='test', **kwargs)


def test_missing_frame_folder_names_folder_and_line(dfew_sample_root,
                                                    tmp_path) -> None:
    root = _mini_dfew(dfew_sample_root, tmp_path, [1, 2, 3])
    shutil.rmtree(osp.join(root, 'Clip', 'clip_224x224', '00002'))
    with pytest.raises(DFERDataError) as info:
        _dfew(root)
    message = str(info.value)
    assert 'set_1.csv:3' in message
    assert osp.join('clip_224x224', '00002') in message
    assert 'does not exist' in message


def test_empty_frame_folder(dfew_sample_root, tmp_path) -> None:
    root = _mini_dfew(dfew_sample_root, tmp_path, [1, 2])
    folder = osp.join(root, 'Clip', 'clip_224x224', '00001')
    shutil.rmtree(folder)
    shutil.os.makedirs(folder)
    with pytest.raises(
            DFERDataError,
            match=r'set_1\.csv:2: frame folder .*'
            r'00001 is empty'):
        _dfew(root)


def test_missing_video(dfew_sample_root, tmp_path) -> None:
    root = _mini_dfew(dfew_sample_root, tmp_path, [1, 2])
    shutil.os.remove(osp.join(root, 'Clip', 'original', '00002.mp4'))
    with pytest.raises(
            DFERDataError,
            match=r'set_1\.csv:3: video .*'
            r'00002\.mp4 does not exist'):
        _dfew(root, media='video')


@pytest.mark.parametrize('rows,match', [
    (['1,1', '2;2'], r'set_1\.csv:3: malformed row'),
    (['1,1', '2,9'], r'set_1\.csv:3: label 9 outside 1\.\.7'),
    (['1,0'], r'set_1\.csv:2: label 0 outside'),
])
def test_bad_csv_rows(dfew_sample_root, tmp_path, rows, match) -> None:
    root = _mini_dfew(dfew_sample_root, tmp_path, [1, 2], labels=rows)
    with pytest.raises(DFERDataError, match=match):
        _dfew(root)


def _corrupt_frame(root: str, clip: str) -> str:
    path = osp.join(root, 'Clip', 'clip_224x224', clip, '00001.jpg')
    with open(path, 'wb') as f:
        f.write(b'\xff\xd8 definitely not a jpeg')
    return path


def test_corrupt_jpeg_raises_at_load(dfew_sample_root, tmp_path) -> None:
    root = _mini_dfew(dfew_sample_root, tmp_path, [1, 2, 3])
    bad = _corrupt_frame(root, '00002')
    ds = _dfew(root)  # building does not decode
    ds[0]
    with pytest.raises(CorruptClipError) as info:
        ds[1]
    message = str(info.value)
    assert bad in message and 'set_1.csv:3' in message
    assert "on_bad_clip='skip'" in message


def test_corrupt_jpeg_skipped_and_logged(dfew_sample_root, tmp_path,
                                         mm_log) -> None:
    root = _mini_dfew(dfew_sample_root, tmp_path, [1, 2, 3])
    _corrupt_frame(root, '00002')
    ds = _dfew(root, on_bad_clip='skip', test_mode=True)
    out = ds[1]
    # test mode substitutes the next clip, deterministically
    assert out['data_samples'].clip_id == '00003'
    assert out['data_samples'].sample_idx == 2
    assert [s[:2] for s in ds.skipped_clips
            ] == [(1, osp.join(root, 'Clip', 'clip_224x224', '00002'))]
    log = mm_log()
    assert "on_bad_clip='skip': skipped clip" in log
    assert osp.join('clip_224x224', '00002') in log
    train = _dfew(root, on_bad_clip='skip')
    for _ in range(3):
        assert train[1]['data_samples'].clip_id in ('00001', '00003')
    assert len(train.skipped_clips) == 3


def test_all_clips_bad_gives_up(dfew_sample_root, tmp_path) -> None:
    root = _mini_dfew(dfew_sample_root, tmp_path, [1, 2])
    _corrupt_frame(root, '00001')
    _corrupt_frame(root, '00002')
    ds = _dfew(root, on_bad_clip='skip', max_refetch=3)
    with pytest.raises(CorruptClipError, match='gave up after 4'):
        ds[0]


def test_corrupt_video(dfew_sample_root, tmp_path, mm_log) -> None:
    root = _mini_dfew(dfew_sample_root, tmp_path, [1, 2])
    video = osp.join(root, 'Clip', 'original', '00001.mp4')
    with open(video, 'r+b') as f:
        data = f.read()
        f.seek(0)
        f.write(b'\x00' * len(data))  # keep the size, destroy the content
    ds = _dfew(root, media='video', pipeline=VIDEO_PIPE)
    assert ds[1]['inputs'].shape == (1, 3, 16, 16, 16)
    with pytest.raises(CorruptClipError, match=r'00001\.mp4'):
        ds[0]
    skip = _dfew(
        root,
        media='video',
        pipeline=VIDEO_PIPE,
        on_bad_clip='skip',
        test_mode=True)
    assert skip[0]['data_samples'].clip_id == '00002'
    assert '00001.mp4' in mm_log() and 'cannot be opened' in mm_log()


@TRANSFORMS.register_module(force=True)
class _RaiseKeyErrorForTest(BaseTransform):
    """A buggy transform: not a media error, must not be skipped."""

    def transform(self, results: dict) -> dict:
        raise KeyError('boom')


def test_pipeline_bugs_are_not_skipped(dfew_sample_root, tmp_path) -> None:
    root = _mini_dfew(dfew_sample_root, tmp_path, [1, 2])
    ds = _dfew(
        root,
        pipeline=[dict(type='_RaiseKeyErrorForTest')],
        on_bad_clip='skip')
    with pytest.raises(KeyError) as info:
        ds[0]
    assert any('00001' in note for note in info.value.__notes__)
    assert ds.skipped_clips == []
