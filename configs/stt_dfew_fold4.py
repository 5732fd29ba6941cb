# STT on DFEW fold 4; everything else as configs/stt_dfew_fold1.py
# (including the best-vs-last epoch choice, ``dfer_checkpoint``).
_base_ = ['./stt_dfew_fold1.py']

fold = 4

train_dataloader = dict(dataset=dict(fold=fold))
val_dataloader = dict(dataset=dict(fold=fold))
test_dataloader = dict(dataset=dict(fold=fold))
