# Copyright (c) OpenMMLab. All rights reserved.
"""mmstt: the Spatio-Temporal Transformer for DFER as an MMAction2 plugin.

``import mmstt`` first repairs the PyPI OpenMMLab stack
(:mod:`mmstt.utils.compat`), then registers every mmstt module into the
``mmaction.registry`` registries.
"""
# isort: off
from .utils import compat  # noqa: F401  (must run first)
from . import apis, datasets, engine, evaluation, models  # noqa: F401
# isort: on
from .version import __version__, version_info

__all__ = ['__version__', 'version_info']
