# Copyright (c) OpenMMLab. All rights reserved.
"""mmstt: the Spatio-Temporal Transformer for DFER as an MMAction2 plugin.

``import mmstt`` first repairs the PyPI OpenMMLab stack
(:mod:`mmstt.utils.compat`), then registers every mmstt module into the
``mmaction.registry`` registries.
"""
from .utils import compat  # noqa: F401, I001  (must run first)

from . import apis, datasets, evaluation, models  # noqa: E402, F401
from .version import __version__, version_info  # noqa: E402

__all__ = ['__version__', 'version_info']
