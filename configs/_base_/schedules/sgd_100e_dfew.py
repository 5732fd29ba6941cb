# DFEW schedule (Former-DFER family, which STT follows): SGD, momentum 0.9,
# weight decay 1e-4, lr 0.01 for a total batch of 32, x0.1 at epochs 40 and
# 80, 100 epochs. The test fold is evaluated after every epoch (DFEW has no
# validation split; see ``dfer_checkpoint`` in configs/stt_dfew_fold*.py).
max_epochs = 100

train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_begin=1,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[40, 80],
        gamma=0.1)
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))

# lr 0.01 is for a total batch (GPUs x samples per GPU) of 32; mmengine
# rescales it linearly for other totals. Disable with
# ``--cfg-options auto_scale_lr.enable=False``.
auto_scale_lr = dict(enable=True, base_batch_size=32)
