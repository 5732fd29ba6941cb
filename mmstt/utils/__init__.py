# Copyright (c) OpenMMLab. All rights reserved.
# ``compat`` repairs the OpenMMLab stack; it must run before anything else.
from .compat import (apply_all, drn_module_available, install_drn_placeholder,
                     load_from_local)
from .flops import count_flops, flop_table
from .safe_loading import (CheckpointReadError, CheckpointRefusedError,
                           checkpoint_safe_globals, mmstt_safe_globals,
                           safe_load_file)

__all__ = [
    'CheckpointReadError', 'CheckpointRefusedError', 'apply_all',
    'checkpoint_safe_globals', 'count_flops', 'drn_module_available',
    'flop_table', 'install_drn_placeholder', 'load_from_local',
    'mmstt_safe_globals', 'safe_load_file'
]
