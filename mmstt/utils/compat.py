# Copyright (c) OpenMMLab. All rights reserved.
"""Every repair mmstt makes to the PyPI OpenMMLab stack, in one place.

The stack mmstt targets (``torch==2.13.0``, ``mmengine==0.10.7``,
``mmcv-lite==2.1.0``, ``mmaction2==1.2.0``) does not work out of the box.
This module is imported first by :mod:`mmstt` and applies each repair once.
Each repair names the upstream problem it works around and changes nothing
when the problem is absent.

Repairs made here:

1. ``mmaction/models/localizers/drn`` is missing from the mmaction2 1.2.0
   wheel (https://github.com/open-mmlab/mmaction2/issues/2714), so
   ``import mmaction.models`` raises ``ModuleNotFoundError``. When the real
   module is absent a placeholder module with a ``DRN`` class that refuses
   to be built is put into :data:`sys.modules`.
2. torch >= 2.6 loads checkpoints with ``weights_only=True`` and mmengine
   0.10.7 pickles ``HistoryBuffer`` and numpy objects into every checkpoint
   (https://github.com/open-mmlab/mmengine/issues/1655, fixed only on
   mmengine main by PR #1670). The exact globals those checkpoints need are
   allowlisted with :func:`torch.serialization.add_safe_globals`; the safe
   loader stays on. The one callable such a pickle invokes that torch does
   not already allow, ``getattr``, is allowlisted only as a narrow wrapper
   that accepts ``HistoryBuffer``'s statistics methods and nothing else.
3. mmengine's local checkpoint loader raises the bare unpickling error,
   which does not say which file was refused. The local scheme is
   re-registered with a loader that always passes ``weights_only=True``
   (so ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` cannot turn it off) and names
   the file in its error.

Not repaired in code, but in ``requirements/``: ``importlib-metadata``
(imported by mmaction2 but undeclared) and ``setuptools<81`` (mmengine
0.10.7 imports ``pkg_resources`` to resolve ``mmaction::`` configs).
"""
import importlib.util
import os
import os.path as osp
import pickle
import sys
import types
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch

__all__ = [
    'drn_module_available', 'install_drn_placeholder',
    'checkpoint_safe_globals', 'allowlist_checkpoint_globals',
    'load_local_checkpoint', 'apply_all'
]

DRN_MODULE = 'mmaction.models.localizers.drn.drn'


# ---------------------------------------------------------------------------
# 1. mmaction2 1.2.0 wheel lacks mmaction/models/localizers/drn (#2714)
# ---------------------------------------------------------------------------
def _mmaction_root() -> Optional[str]:
    """Return the folder of the installed ``mmaction`` package, if any."""
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def drn_module_available(mmaction_root: Optional[str] = None) -> bool:
    """Tell whether the real DRN localizer module can be imported.

    The check reads the file tree (importing ``mmaction.models`` to find out
    would trigger the very error being repaired).

    Args:
        mmaction_root (str, optional): Folder of the ``mmaction`` package.
            Defaults to the installed one.

    Returns:
        bool: ``True`` when ``models/localizers/drn/drn.py`` exists below
        the package or the module is already imported.
    """
    if DRN_MODULE in sys.modules:
        return True
    root = mmaction_root if mmaction_root is not None else _mmaction_root()
    if root is None:
        return False
    return osp.isfile(osp.join(root, 'models', 'localizers', 'drn', 'drn.py'))


class _DRNPlaceholder:
    """Stands in for mmaction's DRN, which the 1.2.0 wheel does not ship."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError(
            'DRN is not available: the mmaction2 1.2.0 wheel does not ship '
            'mmaction/models/localizers/drn (open-mmlab/mmaction2#2714). '
            'Install mmaction2 from source to use DRN.')


def install_drn_placeholder(mmaction_root: Optional[str] = None) -> bool:
    """Put a placeholder DRN module into :data:`sys.modules` if needed.

    Args:
        mmaction_root (str, optional): Folder of the ``mmaction`` package.
            Defaults to the installed one.

    Returns:
        bool: ``True`` if the placeholder was installed, ``False`` if the
        real module exists and nothing was changed.
    """
    if drn_module_available(mmaction_root):
        return False
    package = types.ModuleType('mmaction.models.localizers.drn')
    package.__path__ = []  # mark it as a package
    module = types.ModuleType(DRN_MODULE)
    module.DRN = _DRNPlaceholder
    module.__mmstt_placeholder__ = True
    package.drn = module
    sys.modules[package.__name__] = package
    sys.modules[DRN_MODULE] = module
    return True


# ---------------------------------------------------------------------------
# 2. torch >= 2.6 weights_only loading vs. mmengine checkpoints (#1655)
# ---------------------------------------------------------------------------
_HISTORY_BUFFER_METHODS = ('min', 'max', 'mean', 'current')


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods.

    mmengine pickles ``HistoryBuffer._statistics_methods`` as
    ``getattr(HistoryBuffer, 'min')`` and so on. The general ``getattr``
    would let a pickle walk to any attribute, so only these are allowed.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = set(_HISTORY_BUFFER_METHODS) | set(
        HistoryBuffer._statistics_methods)
    if obj is not HistoryBuffer or name not in allowed:
        raise pickle.UnpicklingError(
            f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')
    return getattr(obj, name)


def _numpy_multiarray() -> types.ModuleType:
    """The module holding ``_reconstruct`` and ``scalar`` (numpy 1 or 2)."""
    core = getattr(np, '_core', None)
    if core is not None and hasattr(core, 'multiarray'):
        return core.multiarray
    return np.core.multiarray  # numpy < 2


def checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The exact globals an mmengine checkpoint needs beyond torch's own.

    A Runner checkpoint pickles, besides tensors: ``HistoryBuffer`` objects
    in its ``message_hub`` (with their statistics methods, fetched through
    ``getattr``), numpy arrays, dtypes and scalars (``bytes`` come through
    ``_codecs.encode``, which torch already allows). numpy 1 and numpy 2
    name the array module differently, so both names are accepted.

    Returns:
        list: Entries for :func:`torch.serialization.add_safe_globals`.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = _numpy_multiarray()
    entries: List[Union[Callable, Tuple[Callable, str]]] = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        (_history_buffer_getattr, 'builtins.getattr'),
    ]
    for prefix in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        entries.append((multiarray._reconstruct, f'{prefix}._reconstruct'))
        entries.append((multiarray.scalar, f'{prefix}.scalar'))
    # Each numpy dtype instance is of its own class (``Float64DType`` ...);
    # the safe unpickler builds only allowlisted classes. Only plain numeric
    # dtypes are admitted.
    for name in ('bool_', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16',
                 'uint32', 'uint64', 'float16', 'float32', 'float64'):
        entries.append(type(np.dtype(getattr(np, name))))
    return entries


def allowlist_checkpoint_globals() -> None:
    """Allowlist :func:`checkpoint_safe_globals` in torch's safe loader."""
    torch.serialization.add_safe_globals(checkpoint_safe_globals())


# ---------------------------------------------------------------------------
# 3. mmengine's local loader: always safe, and name the refused file
# ---------------------------------------------------------------------------
def load_local_checkpoint(filename: str,
                          map_location: Optional[Any] = None) -> Dict:
    """Load a local checkpoint through torch's safe (weights-only) loader.

    Replaces mmengine's ``load_from_local`` for paths without a scheme.

    Args:
        filename (str): Path to the checkpoint.
        map_location (Any, optional): Same as :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        pickle.UnpicklingError: If the file needs a global that is not
            allowlisted; the message names the file.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(
            f'Refused to load checkpoint {os.path.abspath(filename)}: it '
            'needs objects that the safe (weights-only) loader does not '
            f'allow. Only load files you trust. Details: {err}') from err


def _register_local_loader() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)


_APPLIED = False


def apply_all() -> None:
    """Apply every repair once; later calls do nothing."""
    global _APPLIED
    if _APPLIED:
        return
    install_drn_placeholder()
    allowlist_checkpoint_globals()
    _register_local_loader()
    _APPLIED = True


apply_all()
