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
   mmengine main by PR #1670), and its local loader raises bare errors
   that do not name the file. The local scheme is re-registered (under
   mmengine's own name ``load_from_local``) with
   :func:`mmstt.utils.safe_loading.safe_load_file`: always
   ``weights_only=True``, mmstt's exact allowlist in force for that call
   only (the process-wide allowlist is left as the user set it), and errors
   that name the file and its size.

3. mmengine 0.10.7's ``LoggerHook.after_test_epoch`` dumps the test
   metrics to ``<log_dir>/<timestamp>.json`` on every rank, and the ranks
   share the timestamp, so in a multi-process test they write the same
   file at once and can leave it unreadable (extra bytes of the longer
   write after the shorter one). mmengine fixed the same race for the
   scalar logs (https://github.com/open-mmlab/mmengine/pull/124) but not
   for this dump. The hook is wrapped so that only the main process
   dumps; the other ranks still log the line.

The known harmless upstream warnings are silenced, each with its reason,
by :mod:`mmstt.utils.upstream_warnings`.

Not repaired in code, but in ``requirements/``: ``importlib-metadata``
(imported by mmaction2 but undeclared) and ``setuptools<81`` (mmengine
0.10.7 imports ``pkg_resources`` to resolve ``mmaction::`` configs).
"""
import importlib.util
import os.path as osp
import sys
import types
from typing import Any, Optional

from .safe_loading import safe_load_file
from .upstream_warnings import filter_upstream_warnings

__all__ = [
    'drn_module_available', 'install_drn_placeholder', 'load_from_local',
    'apply_all'
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
# 2. torch >= 2.6 weights_only loading vs. mmengine checkpoints (#1655), and
#    mmengine's local loader, which does not name the refused file
# ---------------------------------------------------------------------------
def load_from_local(filename: str, map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint through torch's safe (weights-only) loader.

    Replaces mmengine's ``load_from_local`` for paths without a scheme,
    under the same name, so MMEngine still logs "Loads checkpoint by local
    backend". mmstt's allowlist applies to this call only (see
    :mod:`mmstt.utils.safe_loading`); ``weights_only=True`` is always
    passed, so ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` cannot turn it off.

    Args:
        filename (str): Path to the checkpoint.
        map_location (Any, optional): Same as :func:`torch.load`.
            Defaults to None.

    Returns:
        Any: The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        CheckpointReadError: If the file is empty, truncated or not a torch
            file (the message names the file and its size).
        CheckpointRefusedError: If the file needs a global that is not
            allowed (a :class:`pickle.UnpicklingError` naming the file).
    """
    return safe_load_file(filename, map_location=map_location)


def _register_local_loader() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)


# ---------------------------------------------------------------------------
# 3. LoggerHook.after_test_epoch dumps the test metrics on every rank
#    (the race of mmengine PR #124, left in the test-epoch dump)
# ---------------------------------------------------------------------------
def _dump_test_metrics_on_main_process() -> None:
    from mmengine import dist
    from mmengine.hooks import LoggerHook
    dump_everywhere = LoggerHook.after_test_epoch
    if getattr(dump_everywhere, '__mmstt_repaired__', False):
        return

    def after_test_epoch(self: LoggerHook,
                         runner: Any,
                         metrics: Optional[dict] = None) -> None:
        if dist.is_main_process():
            return dump_everywhere(self, runner, metrics)
        _, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)

    after_test_epoch.__doc__ = dump_everywhere.__doc__
    after_test_epoch.__mmstt_repaired__ = True
    LoggerHook.after_test_epoch = after_test_epoch


_APPLIED = False


def apply_all() -> None:
    """Apply every repair once; later calls do nothing."""
    global _APPLIED
    if _APPLIED:
        return
    filter_upstream_warnings()
    install_drn_placeholder()
    _register_local_loader()
    _dump_test_metrics_on_main_process()
    _APPLIED = True


apply_all()
