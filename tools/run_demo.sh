#!/usr/bin/env bash
# Copyright (c) OpenMMLab. All rights reserved.
# `make demo`: the main job on the embedded default, the generated sample set.
#   1. generate the DFEW look-alike in data/dfew_sample if it is absent;
#   2. train configs/stt_sample.py (a reduced STT, see the config) 2 epochs;
#   3. test the best checkpoint (by dfer/uar; the last one if none);
#   4. run tools/demo.py on one test clip and draw the probabilities.
# Every number printed comes from these runs. The sample set is drawn
# faces: the numbers show the pipeline works, not how well STT does on DFEW.
#   bash tools/run_demo.sh [OUT_DIR]   (default work_dirs/demo)
# Environment: PYTHON (default .venv/bin/python), DEMO_DATA (default
# data/dfew_sample).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-work_dirs/demo}
PY=${PYTHON:-.venv/bin/python}
DATA=${DEMO_DATA:-data/dfew_sample}
CONFIG=configs/stt_sample.py

echo "== 1/4 sample data: $DATA"
if [ ! -d "$DATA/EmoLabel_DataSplit" ]; then
    "$PY" tools/data/make_sample_data.py "$DATA" --layout dfew
else
    echo "exists, reused"
fi

echo "== 2/4 train $CONFIG for 2 epochs into $OUT"
# Checkpoints of an earlier demo run would make the best checkpoint ambiguous.
mkdir -p "$OUT"
rm -f "$OUT"/*.pth "$OUT/last_checkpoint"
"$PY" tools/train.py "$CONFIG" --work-dir "$OUT" \
    --cfg-options data_root="$DATA" train_cfg.max_epochs=2

CKPT=$(find "$OUT" -maxdepth 1 -name 'best_dfer_uar_epoch_*.pth' | head -n 1)
if [ -z "$CKPT" ]; then
    CKPT=$(cat "$OUT/last_checkpoint")
fi

echo "== 3/4 test $CKPT"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$OUT" \
    --cfg-options data_root="$DATA"

# The first clip of fold 1's test split, and its true label.
SPLIT="$DATA/EmoLabel_DataSplit/test(single-labeled)/set_1.csv"
read -r CLIP LABEL < <("$PY" - "$SPLIT" <<'PYEOF'
import csv
import sys

from mmstt.datasets import DFER_CLASSES

with open(sys.argv[1], newline='') as f:
    row = next(csv.DictReader(f))
print(f"{int(row['video_name']):05d}", DFER_CLASSES[int(row['label']) - 1])
PYEOF
)
echo "== 4/4 demo on $DATA/Clip/clip_224x224/$CLIP (true label: $LABEL)"
"$PY" tools/demo.py "$DATA/Clip/clip_224x224/$CLIP" "$CONFIG" "$CKPT" \
    --out "$OUT/demo_$CLIP.png"

echo "== done: logs and checkpoints in $OUT, drawing in $OUT/demo_$CLIP.png"
