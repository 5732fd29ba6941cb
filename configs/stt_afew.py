# STT fine-tuned on AFEW 7.0 from a DFEW fold-1 checkpoint (the paper's
# protocol): 20 epochs at lr 0.001 (total batch 32), evaluated on Val_AFEW
# (AFEW's test labels are unreleased). Faces must be cropped first, see
# configs/_base_/datasets/afew.py and docs/data_preparation.md.
#
#   python tools/train.py configs/stt_afew.py \
#       --cfg-options data_root=data/AFEW_faces \
#       load_from=work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_37.pth
_base_ = [
    './_base_/models/stt_r18.py', './_base_/datasets/afew.py',
    './_base_/schedules/sgd_20e_afew.py', './_base_/default_runtime.py'
]

# The DFEW fold-1 checkpoint to start from. A glob is resolved by
# tools/train.py (exactly one file must match; the checkpoint hook keeps
# only one best file per work dir). Override with
# --cfg-options load_from=PATH.
load_from = 'work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_*.pth'
# Fine-tuning across data sets: every weight is loaded strictly except the
# classifier, whose rows are matched by class name (the checkpoint's
# meta['dataset_meta']['classes'] vs AFEWDataset's). AFEW has DFEW's seven
# classes in DFEW's order, so every row is reused; a class the checkpoint
# lacks would start fresh. 'strict' (the default elsewhere) refuses any
# difference.
load_head = 'map_classes'

# Val_AFEW is both the per-epoch validation set and the reported evaluation
# set (AFEW's test labels are unreleased): 'best' reports the best epoch on
# it, as the compared papers do; 'last' reports epoch 20.
dfer_checkpoint = 'best'
