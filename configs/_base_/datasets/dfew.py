# DFEW, 5-fold protocol, face frames (Clip/clip_224x224), paper settings:
# 16 frames as 8 segments x 2 consecutive frames (random start per segment
# in training, segment centre at test), 112x112, one random resized crop
# (area 0.08-1.0, aspect 3/4-4/3) and one horizontal flip (p=0.5) shared by
# all frames of a clip; test: resize to 112. Pixels stay uint8; the model's
# data_preprocessor divides by 255.
#
# Other folds: --cfg-options train_dataloader.dataset.fold=K
#   val_dataloader.dataset.fold=K test_dataloader.dataset.fold=K
# Original videos instead of frames: set media='video' in the datasets and
# use the video pipelines below (dfew_video_train_pipeline ...).
# DFEW has no validation set: val_dataloader evaluates the fold's test
# split (the usual practice); pick best vs. last epoch in the top-level
# config.
dataset_type = 'DFEWDataset'
data_root = 'data/DFEW'

dfer_meta_keys = ('img_shape', 'sample_idx', 'clip_id')
train_pipeline = [
    dict(type='DFERSampleFrames', clip_len=16, frames_per_segment=2),
    dict(type='FrameFolderDecode'),
    dict(
        type='RandomResizedCrop',
        area_range=(0.08, 1.0),
        aspect_ratio_range=(3 / 4, 4 / 3)),
    dict(type='Resize', scale=(112, 112), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=dfer_meta_keys)
]
val_pipeline = [
    dict(
        type='DFERSampleFrames',
        clip_len=16,
        frames_per_segment=2,
        test_mode=True),
    dict(type='FrameFolderDecode'),
    dict(type='Resize', scale=(112, 112), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=dfer_meta_keys)
]
test_pipeline = val_pipeline

# The same on the original videos Clip/original/<id>.mp4 (media='video'):
# frames are decoded exactly with PyAV (frame k of the video is frame k of
# its frame-folder twin); a truncated video is a CorruptClipError, handled
# by on_bad_clip.
dfew_video_train_pipeline = [dict(type='DFERVideoInit')] + [
    t if t['type'] != 'FrameFolderDecode' else dict(type='DFERVideoDecode')
    for t in train_pipeline
]
dfew_video_test_pipeline = [dict(type='DFERVideoInit')] + [
    t if t['type'] != 'FrameFolderDecode' else dict(type='DFERVideoDecode')
    for t in val_pipeline
]

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        fold=1,
        split='train',
        media='frames',
        on_bad_clip='raise',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        fold=1,
        split='test',
        media='frames',
        on_bad_clip='raise',
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='DFERMetric')
test_evaluator = val_evaluator
