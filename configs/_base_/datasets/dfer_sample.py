# The generated DFEW look-alike (tools/data/make_sample_data.py
# data/dfew_sample --layout dfew): 21 drawn-face clips, fold 1 (17 train /
# 4 test). Same sampling and augmentation as the paper's DFEW settings
# (8x2 frames, 112x112), but small batches and no worker processes so that
# it runs in seconds on a CPU.
dataset_type = 'DFEWDataset'
data_root = 'data/dfew_sample'

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

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        fold=1,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        fold=1,
        split='test',
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='DFERMetric')
test_evaluator = val_evaluator
