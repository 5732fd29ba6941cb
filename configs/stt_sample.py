# The paper's STT recipe, reduced, on the generated DFEW look-alike
# (data/dfew_sample, made by tools/data/make_sample_data.py). The test
# suite's end-to-end runs shrink it further through --cfg-options on a
# 21-clip set (tests/tools/conftest.py). `make demo` trains
# configs/stt_demo.py instead, which is made to learn on a CPU.
#
# Reduced on purpose, compared with configs/stt_dfew_fold1.py:
# * neck: 2 STT blocks instead of 4, 256-d tokens instead of 512, 4 heads
#   instead of 8 (head and compact-loss feature size follow);
# * 2 epochs, batch 4, no data loader workers, logging every iteration.
# Unchanged: ResNet-18 tokenizer cut after stage 3 (7x7 tokens), 16 frames
# sampled 8x2 at 112x112, class-token output, compact softmax loss, SGD
# recipe (lr auto-scaled to the batch of 4: 0.01 * 4 / 32).
#
#   python tools/train.py configs/stt_sample.py
_base_ = [
    './_base_/models/stt_r18.py', './_base_/datasets/dfer_sample.py',
    './_base_/schedules/sgd_100e_dfew.py', './_base_/default_runtime.py'
]

embed_dims = 256
model = dict(
    neck=dict(embed_dims=embed_dims, depth=2, num_heads=4),
    cls_head=dict(in_channels=embed_dims, loss_cls=dict(feat_dim=embed_dims)))

train_cfg = dict(max_epochs=2)

default_hooks = dict(logger=dict(interval=1))

# The best epoch is chosen on the fold's test split, as in the DFEW
# configs; both best and last checkpoints are kept.
dfer_checkpoint = 'best'
