# The generated DFEW look-alike (tools/data/make_sample_data.py
# data/dfew_sample --layout dfew): 1,050 drawn-face clips in DFEW's layout,
# fold 1 = 840 train / 210 test, balanced classes. Same sampling and
# augmentation as the paper's DFEW settings (8x2 frames, 112x112), but small
# batches and no worker processes so that it runs on a CPU. The test suite
# points data_root at a 21-clip set of the same layout.
_base_ = ['./dfew.py']

data_root = 'data/dfew_sample'

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
