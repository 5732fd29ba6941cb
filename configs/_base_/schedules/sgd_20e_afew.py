# AFEW fine-tuning schedule: start from a DFEW checkpoint (``load_from`` in
# configs/stt_afew.py), SGD at lr 0.001 (total batch 32), 20 epochs,
# evaluated on AFEW's validation set after every epoch.
max_epochs = 20

train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_begin=1,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Constant lr: the spec fixes no decay for the short fine-tuning stage.
param_scheduler = [
    dict(
        type='ConstantLR', factor=1.0, begin=0, end=max_epochs, by_epoch=True)
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=1e-4))

auto_scale_lr = dict(enable=True, base_batch_size=32)
