# Copyright (c) OpenMMLab. All rights reserved.
from .checkpoint import (LOAD_HEAD_MODES, CheckpointMismatchError,
                         CheckpointReadError, CheckpointRefusedError,
                         apply_checkpoint_strict, checkpoint_class_names,
                         load_checkpoint_strict, read_checkpoint,
                         resolve_checkpoint, state_dict_of)
from .hooks import DFERReportHook, NonFiniteLossError, NonFiniteLossHook
from .runner import DFERRunner, NonFiniteWeightsError

__all__ = [
    'CheckpointMismatchError', 'CheckpointReadError', 'CheckpointRefusedError',
    'DFERReportHook', 'DFERRunner', 'LOAD_HEAD_MODES', 'NonFiniteLossError',
    'NonFiniteLossHook', 'NonFiniteWeightsError', 'apply_checkpoint_strict',
    'checkpoint_class_names', 'load_checkpoint_strict', 'read_checkpoint',
    'resolve_checkpoint', 'state_dict_of'
]
