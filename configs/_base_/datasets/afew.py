# AFEW 7.0 face frames, paper settings (see dfew.py): 8x2 sampling, 112x112,
# clip-level random resized crop + flip in training, resize at test.
# AFEW's videos are whole frames: crop the faces first with
#   python tools/data/afew/extract_faces.py data/AFEW data/AFEW_faces
# which writes Train_AFEW/<Class>/<video>/ and Val_AFEW/... frame folders.
# Labels follow the DFEW order, so a DFEW checkpoint fine-tunes directly.
# AFEW's test labels are unreleased: Val_AFEW is the evaluation split.
dataset_type = 'AFEWDataset'
data_root = 'data/AFEW_faces'

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
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
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
        split='val',
        media='frames',
        on_bad_clip='raise',
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='DFERMetric')
test_evaluator = val_evaluator
