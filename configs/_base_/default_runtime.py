# Runtime settings shared by every mmstt config.
#
# Starts from MMAction2's own runtime (hooks, env, visualizer) and adds:
# * ``custom_imports``: registers mmstt's modules, so the stock MMAction2
#   ``tools/train.py``/``tools/test.py`` can run these configs too;
# * a checkpoint hook that keeps the best epoch on ``dfer/uar`` and the
#   last epoch (see ``dfer_checkpoint`` in the top-level configs);
# * frequent logging.
_base_ = 'mmaction::_base_/default_runtime.py'

default_scope = 'mmaction'
custom_imports = dict(imports=['mmstt'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, ignore_last=False),
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        # ``dfer/uar`` is logged by ``DFERMetric``; ``rule`` must be given
        # because mmengine cannot infer it from the key name.
        save_best='dfer/uar',
        rule='greater',
        save_last=True,
        max_keep_ckpts=3))

# The window must be small: an epoch of the sample set has few iterations.
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=True)

# ``tools/train.py``/``tools/test.py`` switch this to ``gloo`` when CUDA is
# not available, so CPU multi-process runs need no config edit.
env_cfg = dict(dist_cfg=dict(backend='nccl'))
