# `make demo`: a reduced STT that learns the generated DFEW look-alike
# (data/dfew_sample, tools/data/make_sample_data.py: 1,050 drawn-face
# clips, fold 1 = 840 train / 210 test) on 2 CPU cores in a few minutes.
# Drawn faces show that the pipeline learns expressions from their
# configuration and motion; they say nothing about how STT does on DFEW.
#
# What differs from configs/stt_dfew_fold1.py, and why:
# * frames: 8 (8 segments x 1 frame) at 64x64 instead of 16 (8x2) at
#   112x112: the drawn expressions are visible at 64 px, and each clip
#   costs ~6x less to decode and to run;
# * tokenizer: ResNet-18 stages 1-3 with 16 base channels instead of 64
#   (64-channel 4x4 tokens per frame; ~16x fewer FLOPs);
# * neck: 2 STT blocks instead of 4, 96-d tokens instead of 512, 4 heads
#   instead of 8, no stochastic depth (too few iterations to need it), and
#   the mean of all tokens as the clip embedding instead of the class
#   token: every token gets a gradient from the first step, which learns
#   several times faster from scratch (the class token is for the paper's
#   pretrained, long schedule);
# * classifier initialised with std 0.06 (PyTorch's default scale for a
#   96-input linear layer, 1/sqrt(3 * 96)) instead of 0.01: from scratch,
#   the 0.01 classifier passes the tokenizer so little gradient that
#   training sat near chance for several epochs (docs/train_test.md);
# * augmentation: a mild random resized crop (area 0.6-1) instead of
#   0.08-1: the face fills the frame and the expression must stay in it;
# * optimiser: AdamW (lr 1e-3, weight decay 0.05) with a 1-epoch linear
#   warm-up and a cosine decay over 14 epochs, instead of SGD at lr 0.01
#   with steps at 40 and 80 of 100 epochs: from scratch on a CPU budget,
#   adaptive steps and a warm-up get there in ~1,470 iterations where
#   SGD's 100 epochs are out of reach (lr 2e-3 fitted more slowly and
#   less surely, docs/train_test.md); no lr auto-scaling;
# * batch 8 (more updates for the same compute), no data loader workers
#   (2 cores: the decoding is cheap and workers would take cores from the
#   model).
# Unchanged: spatial-then-temporal attention, the compact softmax loss
# (lambda 0.01), the 5-fold split files, selection of the best epoch by
# UAR on fold 1's test split (as the DFEW configs do).
#
#   python tools/train.py configs/stt_demo.py
_base_ = [
    './_base_/models/stt_r18.py', './_base_/datasets/dfer_sample.py',
    './_base_/default_runtime.py'
]

num_frames = 8
size = 64
embed_dims = 96
max_epochs = 14

model = dict(
    backbone=dict(base_channels=16),
    neck=dict(
        in_channels=64,
        embed_dims=embed_dims,
        num_frames=num_frames,
        grid_size=(4, 4),
        depth=2,
        num_heads=4,
        drop_path_rate=0.,
        output='mean'),
    cls_head=dict(
        in_channels=embed_dims,
        init_std=0.06,
        loss_cls=dict(feat_dim=embed_dims)))

dfer_meta_keys = ('img_shape', 'sample_idx', 'clip_id')
train_pipeline = [
    dict(type='DFERSampleFrames', clip_len=num_frames, frames_per_segment=1),
    dict(type='FrameFolderDecode'),
    dict(
        type='RandomResizedCrop',
        area_range=(0.6, 1.0),
        aspect_ratio_range=(0.85, 1.15)),
    dict(type='Resize', scale=(size, size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=dfer_meta_keys)
]
val_pipeline = [
    dict(
        type='DFERSampleFrames',
        clip_len=num_frames,
        frames_per_segment=1,
        test_mode=True),
    dict(type='FrameFolderDecode'),
    dict(type='Resize', scale=(size, size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=dfer_meta_keys)
]
test_pipeline = val_pipeline

train_dataloader = dict(
    batch_size=8, dataset=dict(fold=1, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=20, dataset=dict(fold=1, pipeline=val_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_begin=1,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.05,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=1e-5,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(logger=dict(interval=10))

# The best epoch by UAR on fold 1's test split is reported, as in the DFEW
# configs; the last epoch is kept too.
dfer_checkpoint = 'best'
