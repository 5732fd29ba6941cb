# STT on MAFW fold 3; everything else as configs/stt_mafw_fold1.py
# (11-class head, the best-vs-last epoch choice ``dfer_checkpoint``).
_base_ = ['./stt_mafw_fold1.py']

fold = 3

train_dataloader = dict(dataset=dict(fold=fold))
val_dataloader = dict(dataset=dict(fold=fold))
test_dataloader = dict(dataset=dict(fold=fold))
