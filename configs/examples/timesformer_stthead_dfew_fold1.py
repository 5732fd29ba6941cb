# Using mmstt from any MMAction2 config: a stock MMAction2 recipe
# (TimeSformer, divided space-time attention) trained on DFEW fold 1 with
# mmstt's data set, metric, head and loss. Nothing is registered by hand:
# ``custom_imports`` imports mmstt, which registers DFEWDataset,
# DFERSampleFrames, FrameFolderDecode, DFERMetric, STTHead and
# CompactSoftmaxLoss into MMAction2's registries. It runs with MMAction2's
# own tools as well as mmstt's (mmstt must be importable: pip install -e .
# or PYTHONPATH=/path/to/mmstt):
#
#   python $(python -c 'import mmaction, os; print(os.path.dirname(
#       mmaction.__file__))')/.mim/tools/train.py \
#       configs/examples/timesformer_stthead_dfew_fold1.py
#
# See docs/custom_imports.md.
_base_ = ('mmaction::recognition/timesformer/'
          'timesformer_divST_8xb8-8x32x1-15e_kinetics400-rgb.py')

custom_imports = dict(imports=['mmstt'], allow_failed_imports=False)

# TimeSformer on DFEW's 16 face frames at 112x112: 16x16 patches give the
# same 7x7 token grid as STT. The recipe's ImageNet ViT-B weights (a URL)
# are not loaded: they expect 224x224 inputs, and nothing should download
# implicitly; set ``pretrained`` to a local file to use them.
model = dict(
    backbone=dict(pretrained=None, num_frames=16, img_size=112),
    cls_head=dict(
        _delete_=True,
        type='STTHead',
        num_classes=7,
        in_channels=768,
        average_clips='prob',
        loss_cls=dict(type='CompactSoftmaxLoss', num_classes=7, feat_dim=768)))

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
test_pipeline = [
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
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='DFEWDataset',
        data_root=data_root,
        fold=1,
        split='train',
        pipeline=train_pipeline))
# DFEW has no validation split: the fold's test split is validated.
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='DFEWDataset',
        data_root=data_root,
        fold=1,
        split='test',
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=8,
    dataset=dict(
        _delete_=True,
        type='DFEWDataset',
        data_root=data_root,
        fold=1,
        split='test',
        pipeline=test_pipeline,
        test_mode=True))

val_evaluator = dict(type='DFERMetric')
test_evaluator = dict(type='DFERMetric')

default_hooks = dict(
    checkpoint=dict(interval=1, save_best='dfer/uar', rule='greater'))
