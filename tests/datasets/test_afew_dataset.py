# Copyright (c) OpenMMLab. All rights reserved.
import os
import os.path as osp
import shutil

import cv2
import pytest
from mmaction.utils import register_all_modules

import mmstt  # noqa: F401
from mmstt.datasets import DFER_CLASSES, AFEWDataset, DFERDataError

VIDEO_PIPE = [
    dict(type='DFERVideoInit'),
    dict(type='DFERSampleFrames', clip_len=16, frames_per_segment=2),
    dict(type='DFERVideoDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
EMOTIW = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear')
FORMER = ('Happiness', 'Sadness', 'Neutral', 'Anger', 'Surprise', 'Disgust',
          'Fear')


def test_videos_as_released(afew_sample_root) -> None:
    register_all_modules()
    train = AFEWDataset(afew_sample_root, split='train', pipeline=VIDEO_PIPE)
    val = AFEWDataset(afew_sample_root, split='val', pipeline=VIDEO_PIPE)
    assert (len(train), len(val)) == (14, 7)
    assert train.metainfo['classes'] == DFER_CLASSES
    for i in range(len(train)):
        info = train.get_data_info(i)
        folder = osp.basename(osp.dirname(info['filename']))
        assert EMOTIW.index(folder) == info['label']
        assert info['clip_id'].startswith(folder + '/')
    assert train[0]['inputs'].shape == (1, 3, 16, 32, 32)


def _frames_tree(afew_root: str, out: str, names=EMOTIW) -> None:
    """Face-frame folders in the same tree (whole frames, downscaled)."""
    for split in ('Train_AFEW', 'Val_AFEW'):
        for emotiw, name in zip(EMOTIW, names):
            src = osp.join(afew_root, split, emotiw)
            for video in sorted(os.listdir(src)):
                dst = osp.join(out, split, name, osp.splitext(video)[0])
                os.makedirs(dst)
                cap = cv2.VideoCapture(osp.join(src, video))
                i = 0
                while True:
                    ok, frame = cap.read()
                    if not ok:
                        break
                    i += 1
                    cv2.imwrite(
                        osp.join(dst, f'{i}.jpg'), cv2.resize(frame, (40, 30)))


@pytest.fixture(scope='module')
def former_tree(afew_sample_root, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp('afew_former') / 'AFEW')
    _frames_tree(afew_sample_root, out, FORMER)
    os.rename(osp.join(out, 'Train_AFEW'), osp.join(out, 'Train'))
    os.rename(osp.join(out, 'Val_AFEW'), osp.join(out, 'Val'))
    return out


def test_former_dfer_names_and_frames(former_tree, afew_sample_root) -> None:
    register_all_modules()
    frames = AFEWDataset(former_tree, split='val', media='frames')
    videos = AFEWDataset(afew_sample_root, split='val')
    got = sorted((osp.basename(frames.get_data_info(i)['frame_dir']),
                  frames.get_data_info(i)['label'])
                 for i in range(len(frames)))
    expected = sorted(
        (osp.splitext(osp.basename(videos.get_data_info(i)['filename']))[0],
         videos.get_data_info(i)['label']) for i in range(len(videos)))
    assert got == expected
    assert sorted(x[1] for x in got) == list(range(7))


def test_frames_read_by_pipeline(former_tree) -> None:
    register_all_modules()
    ds = AFEWDataset(
        former_tree,
        split='train',
        media='frames',
        pipeline=[
            dict(type='DFERSampleFrames', clip_len=16, test_mode=True),
            dict(type='FrameFolderDecode'),
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackActionInputs')
        ])
    assert ds[5]['inputs'].shape == (1, 3, 16, 30, 40)


def test_explicit_split_dir_and_errors(afew_sample_root, tmp_path) -> None:
    ds = AFEWDataset(afew_sample_root, split='val', split_dir='Train_AFEW')
    assert len(ds) == 14
    with pytest.raises(ValueError, match='split'):
        AFEWDataset(afew_sample_root, split='test')
    with pytest.raises(DFERDataError, match='Val_AFEW'):
        AFEWDataset(str(tmp_path), split='val')


def test_unknown_class_folder(afew_sample_root, tmp_path) -> None:
    root = tmp_path / 'afew'
    shutil.copytree(osp.join(afew_sample_root, 'Val_AFEW'), root / 'Val_AFEW')
    (root / 'Val_AFEW' / 'Contempt').mkdir()
    with pytest.raises(DFERDataError, match=r'Val_AFEW/Contempt'):
        AFEWDataset(str(root), split='val')


def test_empty_clip_folder_and_empty_video(afew_sample_root, tmp_path,
                                           mm_log) -> None:
    root = tmp_path / 'faces'
    clip = root / 'Val_AFEW' / 'Happy' / '000000001'
    clip.mkdir(parents=True)
    with pytest.raises(DFERDataError, match='000000001 is empty'):
        AFEWDataset(str(root), split='val', media='frames')
    videos = tmp_path / 'videos'
    shutil.copytree(
        osp.join(afew_sample_root, 'Val_AFEW'), videos / 'Val_AFEW')
    (videos / 'Val_AFEW' / 'Sad' / 'broken.avi').write_bytes(b'')
    with pytest.raises(DFERDataError, match=r'Sad/broken\.avi is an empty'):
        AFEWDataset(str(videos), split='val')
    os.remove(videos / 'Val_AFEW' / 'Sad' / 'broken.avi')
    (videos / 'Val_AFEW' / 'Sad' / 'readme.txt').write_text('x')
    assert len(AFEWDataset(str(videos), split='val')) == 7
    assert 'ignored 1 entry' in mm_log() and 'readme.txt' in mm_log()
    # media='video' on a frame tree finds no video: clear error
    with pytest.raises(DFERDataError, match='holds no clip'):
        AFEWDataset(str(root), split='val', media='video')
