# Copyright (c) OpenMMLab. All rights reserved.
# ``compat`` repairs the OpenMMLab stack; it must run before anything else.
from .compat import (allowlist_checkpoint_globals, apply_all,
                     checkpoint_safe_globals, drn_module_available,
                     install_drn_placeholder, load_local_checkpoint)

__all__ = [
    'allowlist_checkpoint_globals', 'apply_all', 'checkpoint_safe_globals',
    'drn_module_available', 'install_drn_placeholder', 'load_local_checkpoint'
]
