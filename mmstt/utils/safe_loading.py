# Copyright (c) OpenMMLab. All rights reserved.
"""mmstt's checkpoint reader: torch's weights-only loader, made livable.

torch >= 2.6 loads checkpoints with ``weights_only=True`` and mmengine
0.10.7 pickles ``HistoryBuffer`` and numpy objects (and, for
``OneCycleLR``, a static method) into every Runner checkpoint
(https://github.com/open-mmlab/mmengine/issues/1655). The safe loader
stays on; mmstt adds the exact globals those checkpoints need **for the
duration of each of its own loads only** (:func:`mmstt_safe_globals`):

* The process-wide allowlist is left as the user set it. A user's own
  ``with torch.serialization.safe_globals([...])`` block therefore neither
  removes anything mmstt needs (mmstt adds its entries at every load) nor
  loses anything to mmstt (the user's set is restored exactly afterwards).
* Where a user's entry has the same name as one of mmstt's
  (``builtins.getattr``, mmengine's ``HistoryBuffer``), mmstt's entry is
  used inside mmstt's loads (the user's entry is set aside for that call),
  so which callable is used never depends on set or hash order.
* ``HistoryBuffer.__setstate__`` updates the class-wide table of
  statistics functions from the file, so a file could re-map e.g. the
  ``mean`` that every logger of the process uses. mmstt builds the
  buffers through :class:`CheckedHistoryBuffer` instead, which accepts a
  file's statistics only when each name maps to the very function this
  process registered under that name, changes no class-wide state and
  then turns the object into a plain ``HistoryBuffer``.
* Custom statistics (``HistoryBuffer.register_statistics``) load when the
  module that registers them was imported before loading; otherwise the
  error says so.

A file the loader refuses can be used only by re-saving it once with
``tools/misc/resave_trusted_checkpoint.py`` (the user points it at one file
they trust); there is no global switch.
"""
import contextlib
import os
import os.path as osp
import pickle
import threading
import types
import zipfile
from typing import Any, Callable, Dict, Iterator, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

__all__ = [
    'CheckedHistoryBuffer', 'OneCycleSchedulerRef', 'checkpoint_getattr',
    'CheckpointReadError', 'CheckpointRefusedError', 'checkpoint_safe_globals',
    'file_size_text', 'mmstt_safe_globals', 'safe_load_file', 'RESAVE_TOOL'
]

SafeGlobal = Union[Callable, Tuple[Callable, str]]

#: The tool that re-saves one trusted file as plain tensors and metadata.
RESAVE_TOOL = 'tools/misc/resave_trusted_checkpoint.py'

_HISTORY_BUFFER_NAME = 'mmengine.logging.history_buffer.HistoryBuffer'
_DEFAULT_STATISTICS = ('min', 'max', 'mean', 'current')
_LOCK = threading.RLock()


class CheckpointReadError(RuntimeError):
    """A checkpoint file is empty, truncated or not a torch file."""


class CheckpointRefusedError(pickle.UnpicklingError):
    """A checkpoint needs objects the safe (weights-only) loader refuses."""


def _registered_statistics() -> Dict[str, Callable]:
    """The statistics functions this process knows, defaults included."""
    methods = {
        name: getattr(HistoryBuffer, name)
        for name in _DEFAULT_STATISTICS
    }
    methods.update(HistoryBuffer._statistics_methods)
    return methods


class CheckedHistoryBuffer(HistoryBuffer):
    """Builds a ``HistoryBuffer`` from a checkpoint without side effects.

    mmstt's loads map the pickled ``HistoryBuffer`` class to this one. The
    file's ``statistics_methods`` must name only statistics this process
    has registered, each with the very function registered under that
    name; the class-wide table is not touched. The built object is a plain
    :class:`~mmengine.logging.HistoryBuffer`.
    """

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        methods = state.pop('statistics_methods', {}) or {}
        known = _registered_statistics()
        for name, func in dict(methods).items():
            if name not in known:
                raise CheckpointRefusedError(
                    f'the checkpoint\'s HistoryBuffer uses the statistic '
                    f'{name!r} ({_qualified(func)}), which is not registered '
                    'in this process. Import the module that registers it '
                    'with HistoryBuffer.register_statistics before loading, '
                    f'or re-save the file you trust with {RESAVE_TOOL}.')
            if known[name] is not func:
                raise CheckpointRefusedError(
                    f'the checkpoint\'s HistoryBuffer maps the statistic '
                    f'{name!r} to {_qualified(func)}, but this process '
                    f'registered {_qualified(known[name])} under that name; '
                    'loading it would change that statistic for the whole '
                    'process, so it is refused.')
        self.__dict__.update(state)
        self.__class__ = HistoryBuffer
        # As HistoryBuffer.__init__ does: the four built-in statistics are
        # always in the table (setdefault; nothing registered is replaced).
        self._set_default_statistics()


def _qualified(func: Any) -> str:
    module = getattr(func, '__module__', '?')
    return f'{module}.{getattr(func, "__qualname__", repr(func))}'


class OneCycleSchedulerRef:
    """Stands for ``OneCycleParamScheduler`` inside mmstt's loads.

    With pickle protocol 2 (torch's default) the annealing function a
    ``OneCycle`` scheduler keeps in its state is pickled as
    ``getattr(OneCycleParamScheduler, '_annealing_cos')``. Only that lookup
    is needed, so the class name resolves to this reference, which cannot
    be instantiated, and :func:`checkpoint_getattr` resolves exactly the
    two annealing functions on it.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> None:
        raise CheckpointRefusedError(
            'a checkpoint may not construct OneCycleParamScheduler')


#: (object, attribute) lookups a checkpoint may make through ``getattr``.
_ONE_CYCLE_FUNCTIONS = ('_annealing_cos', '_annealing_linear')


def checkpoint_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` restricted to what MMEngine's checkpoints look up.

    mmengine pickles a buffer's statistics table as
    ``getattr(HistoryBuffer, 'min')`` and so on, and a ``OneCycle``
    scheduler's annealing function as
    ``getattr(OneCycleParamScheduler, '_annealing_cos')``. The general
    ``getattr`` would let a pickle reach any attribute of anything it can
    name, so only these lookups are allowed.

    Args:
        obj (Any): The object (as resolved by the safe unpickler).
        name (str): The attribute.

    Returns:
        Callable: The statistics or annealing function.

    Raises:
        CheckpointRefusedError: For any other lookup.
    """
    if obj in (HistoryBuffer, CheckedHistoryBuffer):
        known = _registered_statistics()
        if name in known and getattr(HistoryBuffer, name, None) is known[name]:
            return known[name]
    if obj is OneCycleSchedulerRef and name in _ONE_CYCLE_FUNCTIONS:
        from mmengine.optim.scheduler.param_scheduler import \
            OneCycleParamScheduler
        return getattr(OneCycleParamScheduler, name)
    raise CheckpointRefusedError(
        f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


def _numpy_multiarray() -> types.ModuleType:
    """The module holding ``_reconstruct`` and ``scalar`` (numpy 1 or 2)."""
    core = getattr(np, '_core', None)
    if core is not None and hasattr(core, 'multiarray'):
        return core.multiarray
    return np.core.multiarray  # numpy < 2


def checkpoint_safe_globals() -> List[SafeGlobal]:
    """The exact globals an mmengine checkpoint needs beyond torch's own.

    A Runner checkpoint pickles, besides tensors: ``HistoryBuffer`` objects
    in its ``message_hub`` (built through :class:`CheckedHistoryBuffer`,
    with their statistics functions fetched through
    :func:`checkpoint_getattr`),
    numpy arrays, dtypes and scalars (``bytes`` come through
    ``_codecs.encode``, which torch already allows; numpy 1 and numpy 2
    name the array module differently, so both names are accepted), the
    annealing function of a ``OneCycle`` scheduler (looked up on
    :class:`OneCycleSchedulerRef`), and any custom statistics functions
    registered in this process.

    Returns:
        list: Entries in the form :func:`torch.serialization.safe_globals`
        takes.
    """
    multiarray = _numpy_multiarray()
    entries: List[SafeGlobal] = [
        (CheckedHistoryBuffer, _HISTORY_BUFFER_NAME),
        np.ndarray,
        np.dtype,
        (checkpoint_getattr, 'builtins.getattr'),
        (OneCycleSchedulerRef,
         'mmengine.optim.scheduler.param_scheduler.OneCycleParamScheduler'),
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
    for name, func in HistoryBuffer._statistics_methods.items():
        if name not in _DEFAULT_STATISTICS and callable(func):
            entries.append(func)
    return entries


def _entry_name(entry: SafeGlobal) -> str:
    if isinstance(entry, tuple):
        return entry[1]
    return f'{entry.__module__}.{entry.__qualname__}'


@contextlib.contextmanager
def mmstt_safe_globals() -> Iterator[None]:
    """Allow :func:`checkpoint_safe_globals` for the loads in this block.

    The process-wide allowlist is snapshotted on entry and restored exactly
    on exit, so the block neither keeps nor removes any of the user's
    entries. User entries with the same full name as one of mmstt's are
    set aside inside the block, so mmstt's entry is the one in force.

    Yields:
        None
    """
    serialization = torch.serialization
    ours = checkpoint_safe_globals()
    our_names = {_entry_name(e) for e in ours}
    with _LOCK:
        saved = serialization.get_safe_globals()
        kept = [e for e in saved if _entry_name(e) not in our_names]
        serialization.clear_safe_globals()
        serialization.add_safe_globals(kept + ours)
        try:
            yield
        finally:
            serialization.clear_safe_globals()
            serialization.add_safe_globals(saved)


def file_size_text(filename: str) -> str:
    """The size of a file for messages, e.g. ``'1,234,567 bytes'``.

    Args:
        filename (str): Path to the file.

    Returns:
        str: The size, or ``'unknown size'`` if it cannot be read.
    """
    try:
        size = os.path.getsize(filename)
    except OSError:
        return 'unknown size'
    return f'{size:,} bytes'


def _unpickler_detail(err: BaseException) -> str:
    """The part of torch's message that says what was refused."""
    text = str(err)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        text = text.split(marker, 1)[1]
        text = text.split('Check the documentation of torch.load')[0]
        # torch's advice (weights_only=False, add_safe_globals) is left out:
        # mmstt's way for a trusted file is the re-save tool.
        text = text.split(' Please use `torch.serialization')[0]
    return ' '.join(text.split())


def safe_load_file(filename: str, map_location: Any = None) -> Any:
    """Load a local file with ``torch.load(weights_only=True)``.

    Args:
        filename (str): Path to the file (``~`` is expanded).
        map_location (Any): Same as :func:`torch.load`. Defaults to None.

    Returns:
        Any: The loaded object.

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointReadError: If the file is empty, truncated, half-written
            or not a torch file; the message names the file and its size.
        CheckpointRefusedError: If the file needs objects the safe loader
            does not allow; the message names the file, what was refused
            and the way for a file one trusts.
    """
    filename = osp.expanduser(filename)
    path = osp.abspath(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    size = file_size_text(filename)
    if os.path.getsize(filename) == 0:
        raise CheckpointReadError(
            f'Cannot read checkpoint {path} ({size}): the file is empty '
            '(an interrupted save or copy?).')
    is_zip = zipfile.is_zipfile(filename)
    try:
        with mmstt_safe_globals():
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except CheckpointRefusedError as err:
        raise CheckpointRefusedError(
            f'Refused to load checkpoint {path} ({size}): {err}') from err
    except pickle.UnpicklingError as err:
        if not is_zip:
            raise CheckpointReadError(
                f'Cannot read checkpoint {path} ({size}): it is not a file '
                f'written by torch.save ({_unpickler_detail(err)}).') from err
        raise CheckpointRefusedError(
            f'Refused to load checkpoint {path} ({size}): it needs objects '
            'that the safe (weights-only) loader does not allow: '
            f'{_unpickler_detail(err)} If you trust this file, re-save it '
            f'once as plain weights and metadata with '
            f'`python {RESAVE_TOOL} {filename} OUT.pth` and load OUT.pth.'
        ) from err
    except (RuntimeError, EOFError, KeyError, IndexError, ValueError, OSError,
            TypeError, AttributeError, ImportError, MemoryError) as err:
        state = 'is truncated or half-written' if is_zip or _looks_like_zip(
            filename) else 'was not written by torch.save'
        raise CheckpointReadError(
            f'Cannot read checkpoint {path} ({size}): the file {state} '
            f'({type(err).__name__}: {_first_line(err)})') from err


def _first_line(err: BaseException) -> str:
    lines = str(err).splitlines()
    return lines[0][:200] if lines else 'no message'


def _looks_like_zip(filename: str) -> bool:
    """True when the file starts like a zip archive (torch's format)."""
    with open(filename, 'rb') as f:
        return f.read(4) == b'PK\x03\x04'
