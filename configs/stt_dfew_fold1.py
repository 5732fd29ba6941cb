# STT (ResNet-18 tokens -> 4 factorised spatial/temporal attention blocks ->
# class token) on DFEW fold 1, the paper's recipe: 16 frames (8x2) at
# 112x112, SGD lr 0.01 at total batch 32 (auto-scaled), x0.1 at epochs 40
# and 80, 100 epochs.
#
#   python tools/train.py configs/stt_dfew_fold1.py \
#       --cfg-options data_root=/path/to/DFEW
#   python tools/test.py configs/stt_dfew_fold1.py \
#       work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_*.pth
#
# Folds 2-5: configs/stt_dfew_fold{2..5}.py; all five and their mean:
#   python tools/cross_validation.py dfew --data-root /path/to/DFEW
# (tools/dfew_cross_validation.py, its old name, still works).
_base_ = [
    './_base_/models/stt_r18.py', './_base_/datasets/dfew.py',
    './_base_/schedules/sgd_100e_dfew.py', './_base_/default_runtime.py'
]

fold = 1

# DFEW has no validation split. Like the papers it is compared with, the
# fold's test split is evaluated after every epoch (val_dataloader) and the
# checkpoint hook keeps both the best epoch by UAR
# (best_dfer_uar_epoch_N.pth) and the last epoch (epoch_100.pth).
# ``dfer_checkpoint`` says which one is reported (it is what
# tools/cross_validation.py uses):
#   'best': the best epoch on the test fold (the usual practice; optimistic,
#           since the epoch is selected on the test data);
#   'last': the last epoch (no selection on the test data).
dfer_checkpoint = 'best'

train_dataloader = dict(dataset=dict(fold=fold))
val_dataloader = dict(dataset=dict(fold=fold))
test_dataloader = dict(dataset=dict(fold=fold))
