# STT (the paper model) on MAFW fold 1, 11-class single-label protocol,
# with the DFEW recipe: 16 frames (8x2) at 112x112, SGD lr 0.01 at total
# batch 32 (auto-scaled), x0.1 at epochs 40 and 80, 100 epochs. The head
# has 11 outputs in MAFWDataset's class order (DFEW's seven first).
#
#   python tools/train.py configs/stt_mafw_fold1.py \
#       --cfg-options data_root=/path/to/MAFW
#   python tools/cross_validation.py mafw --data-root /path/to/MAFW
#
# Starting from a DFEW checkpoint (its seven classes are mapped by name to
# MAFW's first seven, the four MAFW-only rows start fresh):
#   --cfg-options load_from=work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_37.pth
#   load_head=map_classes
# Folds 2-5: configs/stt_mafw_fold{2..5}.py.
_base_ = [
    './_base_/models/stt_r18.py', './_base_/datasets/mafw.py',
    './_base_/schedules/sgd_100e_dfew.py', './_base_/default_runtime.py'
]

fold = 1
num_classes = 11

model = dict(
    cls_head=dict(
        num_classes=num_classes, loss_cls=dict(num_classes=num_classes)))

# MAFW has no validation split; as for DFEW the fold's test list is
# evaluated after every epoch and 'best' (by UAR, selected on the test
# data) or 'last' is reported (tools/cross_validation.py reads this key).
dfer_checkpoint = 'best'

train_dataloader = dict(dataset=dict(fold=fold))
val_dataloader = dict(dataset=dict(fold=fold))
test_dataloader = dict(dataset=dict(fold=fold))
