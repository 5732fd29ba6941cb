# STT (the paper model: ResNet-18 tokens -> 4 factorised spatial/temporal
# attention blocks -> class token, 7 classes) on FERV39k's all-scene split,
# with the DFEW recipe (the paper gives no separate FERV39k recipe): 16
# frames (8x2) at 112x112, SGD lr 0.01 at total batch 32 (auto-scaled),
# x0.1 at epochs 40 and 80, 100 epochs. The paper reports UAR 37.76 /
# WAR 48.11 on FERV39k.
#
#   python tools/train.py configs/stt_ferv39k.py \
#       --cfg-options data_root=/path/to/FERV39k
#   python tools/test.py configs/stt_ferv39k.py \
#       work_dirs/stt_ferv39k/best_dfer_uar_epoch_*.pth --dump preds.pkl
#   python tools/analysis/per_scene_metrics.py preds.pkl \
#       /path/to/FERV39k/4_setups/All_scenes/test_All.csv
_base_ = [
    './_base_/models/stt_r18.py', './_base_/datasets/ferv39k.py',
    './_base_/schedules/sgd_100e_dfew.py', './_base_/default_runtime.py'
]

# FERV39k has no validation split: the test split is evaluated after every
# epoch and the checkpoint hook keeps the best epoch by UAR and the last.
#   'best': the best epoch on the test split (the usual practice;
#           optimistic, the epoch is selected on the test data);
#   'last': the last epoch (no selection on the test data).
dfer_checkpoint = 'best'
