# Runtime settings shared by every mmstt config.
#
# Starts from MMAction2's own runtime (hooks, env, visualizer) and adds:
# * ``custom_imports``: registers mmstt's modules, so the stock MMAction2
#   ``tools/train.py``/``tools/test.py`` can run these configs too;
# * a checkpoint hook that keeps the best epoch on ``dfer/uar`` and the
#   last epoch (see ``dfer_checkpoint`` in the top-level configs);
# * frequent logging;
# * ``runner_type = 'DFERRunner'`` (mmstt/engine/runner.py), which MMAction2's
#   own tools build too: checkpoints (``load_from``, the checkpoint of
#   tools/test.py) load strictly, a NaN loss stops training, no checkpoint
#   with non-finite weights is saved, and every run ends with a summary,
#   ``learning_curve.png`` and the reported epoch's confusion matrix
#   (``NonFiniteLossHook`` and ``DFERReportHook`` are added by the runner,
#   so a config's own ``custom_hooks`` cannot drop them).
_base_ = 'mmaction::_base_/default_runtime.py'

default_scope = 'mmaction'
custom_imports = dict(imports=['mmstt'], allow_failed_imports=False)

runner_type = 'DFERRunner'

# How ``load_from`` treats the classifier: 'strict' (every key must fit) or
# 'map_classes' (fine-tuning on other classes: the classifier rows are
# taken by class name from the checkpoint's dataset_meta, rows of new
# classes start fresh; everything else is still strict).
load_head = 'strict'

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
