# Copyright (c) OpenMMLab. All rights reserved.
from .checkpoint import (LOAD_HEAD_MODES, CheckpointMismatchError,
                         CheckpointReadError, CheckpointRefusedError,
                         checkpoint_class_names, load_checkpoint_strict,
                         read_checkpoint, resolve_checkpoint, state_dict_of)

__all__ = [
    'CheckpointMismatchError', 'CheckpointReadError', 'CheckpointRefusedError',
    'LOAD_HEAD_MODES', 'checkpoint_class_names', 'load_checkpoint_strict',
    'read_checkpoint', 'resolve_checkpoint', 'state_dict_of'
]
