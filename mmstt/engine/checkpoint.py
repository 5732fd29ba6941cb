# Copyright (c) OpenMMLab. All rights reserved.
"""Read checkpoints safely and load them into a model strictly.

Every tool of mmstt (``tools/train.py`` through ``load_from``,
``tools/test.py``, the demo, :func:`mmstt.apis.init_recognizer`) loads
weights through :func:`load_checkpoint_strict`: a missing, unexpected or
mis-shaped key is an error that names the file, never a warning followed
by the metrics of random weights. Fine-tuning with another classifier goes
through the one explicit option ``load_head='map_classes'``: the
classifier rows are matched by class name, everything else stays strict.
"""
import glob
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmstt.utils.safe_loading import (CheckpointReadError,
                                      CheckpointRefusedError, file_size_text,
                                      safe_load_file)

__all__ = [
    'CheckpointMismatchError', 'CheckpointReadError', 'CheckpointRefusedError',
    'LOAD_HEAD_MODES', 'apply_checkpoint_strict', 'checkpoint_class_names',
    'load_checkpoint_strict', 'read_checkpoint', 'resolve_checkpoint',
    'state_dict_of'
]

#: The values of ``load_head`` (argument and top-level config key).
LOAD_HEAD_MODES = ('strict', 'map_classes')

#: How many key names an error message lists per kind of problem.
_SHOW_KEYS = 5


class CheckpointMismatchError(RuntimeError):
    """The weights of a checkpoint do not fit the model."""


def resolve_checkpoint(path: str,
                       hint: str = 'give the path of one file') -> str:
    """Resolve a checkpoint path that may be a glob pattern.

    Best checkpoints carry their epoch in the name
    (``best_dfer_uar_epoch_37.pth``), so configs and command lines may name
    them by a pattern such as
    ``work_dirs/stt_dfew_fold1/best_dfer_uar_epoch_*.pth``.

    Args:
        path (str): A path, URL or glob pattern.
        hint (str): How the caller's user gives an explicit path (the tools
            pass e.g. ``'pass CHECKPOINT as a file path'``). Defaults to
            ``'give the path of one file'``.

    Returns:
        str: ``path`` itself when it has no wildcard or is a URL, else the
        single existing file it matches.

    Raises:
        FileNotFoundError: If the pattern matches no file, or more than one.
    """
    if '://' in path or not any(ch in path for ch in '*?['):
        return path
    matches = sorted(glob.glob(osp.expanduser(path)))
    if len(matches) != 1:
        found = ', '.join(matches) if matches else 'no file'
        raise FileNotFoundError(
            f'Checkpoint pattern {path!r} must match exactly one file, '
            f'found {found}. To choose one, {hint}.')
    return matches[0]


def read_checkpoint(filename: str, map_location: Any = 'cpu') -> Dict:
    """Read a local checkpoint file through torch's weights-only loader.

    Args:
        filename (str): Path to the checkpoint (``~`` is expanded).
        map_location (Any): Same as :func:`torch.load`. Defaults to
            ``'cpu'``.

    Returns:
        dict: The loaded object (a Runner checkpoint has ``state_dict`` and
        ``meta``; a bare state dict is returned as it is).

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointReadError: If the file is empty, truncated, half-written
            or not a torch file; the message names the file and its size.
        CheckpointRefusedError: If the file needs objects that the safe
            loader does not allow; the message names the file and says how
            to re-save a file one trusts.
        ValueError: If ``filename`` is a URL (nothing is downloaded).
    """
    if '://' in str(filename):
        raise ValueError(
            f'{filename} is a URL; mmstt downloads nothing at run time. '
            'Download the file and give its local path.')
    checkpoint = safe_load_file(str(filename), map_location=map_location)
    if not isinstance(checkpoint, Mapping):
        raise CheckpointReadError(
            f'Checkpoint {osp.abspath(osp.expanduser(filename))} '
            f'({file_size_text(osp.expanduser(filename))}) holds a '
            f'{type(checkpoint).__name__}, not a dict of weights.')
    return checkpoint


def checkpoint_class_names(
        checkpoint_or_meta: Optional[Mapping]) -> Optional[List[str]]:
    """The class names a checkpoint was trained on.

    MMEngine's Runner stores the training set's ``metainfo`` as
    ``meta['dataset_meta']``; mmstt's data sets put their class names
    (in label order) under ``classes``.

    Args:
        checkpoint_or_meta (Mapping, optional): A loaded checkpoint (with a
            ``meta`` entry) or its ``meta`` dict itself.

    Returns:
        list[str] | None: The class names in label order, or None when the
        checkpoint does not record them.
    """
    if not isinstance(checkpoint_or_meta, Mapping):
        return None
    meta = checkpoint_or_meta.get('meta', checkpoint_or_meta)
    if not isinstance(meta, Mapping):
        return None
    dataset_meta = meta.get('dataset_meta', None)
    if not isinstance(dataset_meta, Mapping):
        return None
    classes = dataset_meta.get('classes', None)
    if classes is None or isinstance(classes, str):
        return None
    return [str(name) for name in classes]


def state_dict_of(checkpoint: Mapping,
                  filename: str = '<checkpoint>') -> 'OrderedDict':
    """The model weights of a loaded checkpoint, ``module.`` prefix removed.

    Args:
        checkpoint (Mapping): A loaded checkpoint: a Runner checkpoint (with
            ``state_dict``), a ``{'model': ...}`` dict or a bare state dict.
        filename (str): Name used in error messages. Defaults to
            ``'<checkpoint>'``.

    Returns:
        OrderedDict: Parameter name to tensor.

    Raises:
        CheckpointMismatchError: If no dict of tensors is found.
    """
    state = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(state, Mapping) and isinstance(
                state.get(key, None), Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointMismatchError(
            f'Checkpoint {filename} holds no state dict of tensors (looked '
            'at the file itself and its "state_dict" and "model" entries).')
    out = OrderedDict()
    for key, value in state.items():
        out[key[len('module.'):] if key.startswith('module.') else key] = value
    return out


def _model_class_names(model: nn.Module) -> Optional[List[str]]:
    meta = getattr(model, 'dataset_meta', None)
    return checkpoint_class_names(dict(dataset_meta=meta)) if meta else None


def _head_prefixes(model: nn.Module) -> Tuple[str, ...]:
    """Parameter prefixes of the classifier (``cls_head.`` in MMAction2)."""
    prefixes = tuple(f'{name}.' for name in ('cls_head', 'head')
                     if isinstance(getattr(model, name, None), nn.Module))
    return prefixes or ('cls_head.', )


def _show(keys: Sequence[str]) -> str:
    listed = ', '.join(keys[:_SHOW_KEYS])
    more = len(keys) - _SHOW_KEYS
    return listed + (f', ... ({more} more)' if more > 0 else '')


def _map_head_rows(filename: str, name: str, ckpt_value: torch.Tensor,
                   model_value: torch.Tensor, ckpt_classes: List[str],
                   model_classes: List[str]) -> torch.Tensor:
    """Take the classifier rows of ``ckpt_value`` by class name."""
    if (ckpt_value.shape[0] != len(ckpt_classes)
            or model_value.shape[0] != len(model_classes)
            or ckpt_value.shape[1:] != model_value.shape[1:]):
        raise CheckpointMismatchError(
            f'Checkpoint {filename}: {name} has shape '
            f'{tuple(ckpt_value.shape)} and the model '
            f'{tuple(model_value.shape)}; load_head="map_classes" maps only '
            f'rows of one class each ({len(ckpt_classes)} classes in the '
            f'checkpoint, {len(model_classes)} in the model).')
    mapped = model_value.detach().clone()
    index = {cls: i for i, cls in enumerate(ckpt_classes)}
    for row, cls in enumerate(model_classes):
        if cls in index:
            mapped[row] = ckpt_value[index[cls]].to(mapped.dtype)
    return mapped


def load_checkpoint_strict(model: nn.Module,
                           filename: str,
                           map_location: Any = 'cpu',
                           load_head: str = 'strict',
                           logger: Optional[Any] = None,
                           classes: Optional[Sequence[str]] = None) -> Dict:
    """Load a checkpoint file into ``model``; every weight must fit.

    With ``load_head='strict'`` the checkpoint must hold exactly the
    model's keys with the model's shapes; when both the checkpoint and the
    model know their class names, these must be equal too (the same
    weights with classes in another order would mislabel every clip).
    With ``load_head='map_classes'`` the classifier (``cls_head``) rows are
    taken by class name from the checkpoint's
    ``meta['dataset_meta']['classes']`` for the model's classes; rows of
    classes the checkpoint does not have keep their fresh initialisation.
    Every other key is still strict.

    Args:
        model (nn.Module): The model (a DDP wrapper is unwrapped).
        filename (str): Local checkpoint path.
        map_location (Any): Same as :func:`torch.load`. Defaults to
            ``'cpu'``.
        load_head (str): ``'strict'`` or ``'map_classes'``. Defaults to
            ``'strict'``.
        logger (Any, optional): Logger or logger name for
            :func:`mmengine.logging.print_log`. Defaults to ``'current'``.
        classes (Sequence[str], optional): The model's class names in label
            order. Defaults to ``model.dataset_meta['classes']`` if set.

    Returns:
        dict: The checkpoint's ``meta`` dict, or ``{}`` if it has none.

    Raises:
        CheckpointMismatchError: If keys are missing, unexpected or
            mis-shaped, or the class names disagree; the message names the
            file, gives the counts and the first few keys.
        CheckpointReadError: If the file cannot be read (see
            :func:`read_checkpoint`).
        ValueError: If ``load_head`` is not one of :data:`LOAD_HEAD_MODES`.
    """
    checkpoint = read_checkpoint(filename, map_location=map_location)
    apply_checkpoint_strict(
        model, checkpoint, filename, load_head, logger=logger, classes=classes)
    meta = checkpoint.get('meta', None)
    return dict(meta) if isinstance(meta, Mapping) else {}


def apply_checkpoint_strict(model: nn.Module,
                            checkpoint: Mapping,
                            filename: str,
                            load_head: str = 'strict',
                            logger: Optional[Any] = None,
                            classes: Optional[Sequence[str]] = None) -> None:
    """Load an already read checkpoint into ``model`` strictly.

    The rules of :func:`load_checkpoint_strict`, for callers that read the
    file first (MMEngine's Runner lets hooks edit the checkpoint between
    reading and loading).

    Args:
        model (nn.Module): The model (a DDP wrapper is unwrapped).
        checkpoint (Mapping): The loaded checkpoint.
        filename (str): The file it came from, for messages.
        load_head (str): ``'strict'`` or ``'map_classes'``. Defaults to
            ``'strict'``.
        logger (Any, optional): Logger or logger name. Defaults to
            ``'current'``.
        classes (Sequence[str], optional): The model's class names.
            Defaults to ``model.dataset_meta['classes']`` if set.

    Raises:
        CheckpointMismatchError: See :func:`load_checkpoint_strict`.
        ValueError: If ``load_head`` is not one of :data:`LOAD_HEAD_MODES`.
    """
    if load_head not in LOAD_HEAD_MODES:
        raise ValueError(f'load_head must be one of {LOAD_HEAD_MODES}, got '
                         f'{load_head!r}')
    logger = logger if logger is not None else 'current'
    if is_model_wrapper(model):
        model = model.module
    path = osp.abspath(osp.expanduser(filename))
    label = f'{path} ({file_size_text(path)})'
    state = state_dict_of(checkpoint, label)
    own = model.state_dict()
    ckpt_classes = checkpoint_class_names(checkpoint)
    model_classes = list(classes) if classes is not None else \
        _model_class_names(model)

    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    misshaped = [
        k for k in own if k in state and state[k].shape != own[k].shape
    ]
    heads = _head_prefixes(model)
    mapped_keys: List[str] = []
    if load_head == 'map_classes':
        if ckpt_classes is None:
            raise CheckpointMismatchError(
                f'Checkpoint {label} records no class names '
                "(meta['dataset_meta']['classes']), so load_head="
                '"map_classes" cannot match its classifier rows.')
        if model_classes is None:
            raise CheckpointMismatchError(
                f'load_head="map_classes" for {label} needs the model\'s '
                'class names (pass classes= or set model.dataset_meta).')
        mapped_keys = [
            k for k in own
            if k in state and k.startswith(heads) and own[k].dim() >= 1 and (
                k in misshaped or (own[k].shape[0] == len(model_classes) and
                                   (ckpt_classes != model_classes)))
        ]
        misshaped = [k for k in misshaped if k not in mapped_keys]
    elif (ckpt_classes is not None and model_classes is not None
          and ckpt_classes != model_classes and not misshaped):
        raise CheckpointMismatchError(
            f'Checkpoint {label} was trained on the classes {ckpt_classes} '
            f'and the model predicts {model_classes}. To fine-tune with '
            'the classifier rows matched by class name, set '
            'load_head="map_classes" (config key or --cfg-options '
            'load_head=map_classes).')

    if missing or unexpected or misshaped:
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing keys ({_show(missing)})')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected keys '
                         f'({_show(unexpected)})')
        if misshaped:
            shapes = [
                f'{k}: checkpoint {tuple(state[k].shape)} vs model '
                f'{tuple(own[k].shape)}' for k in misshaped
            ]
            parts.append(f'{len(misshaped)} mis-shaped keys '
                         f'({_show(shapes)})')
        advice = ''
        if load_head == 'strict' and misshaped and all(
                k.startswith(heads)
                for k in misshaped) and not (missing or unexpected):
            advice = (' Only the classifier differs: to fine-tune on other '
                      'classes, set load_head="map_classes".')
        raise CheckpointMismatchError(
            f'Checkpoint {label} does not fit {type(model).__name__} '
            f'({len(own)} keys in the model, {len(state)} in the file): ' +
            '; '.join(parts) + '.' + advice)

    if mapped_keys:
        kept = [c for c in model_classes if c in ckpt_classes]
        fresh = [c for c in model_classes if c not in ckpt_classes]
        for key in mapped_keys:
            state[key] = _map_head_rows(label, key, state[key], own[key],
                                        ckpt_classes, model_classes)
        print_log(
            f'load_head="map_classes": {len(kept)} of {len(model_classes)} '
            f'classifier rows taken by class name from {path} '
            f'({", ".join(kept) or "none"}); freshly initialised: '
            f'{", ".join(fresh) or "none"}.',
            logger=logger)
    model.load_state_dict(state, strict=True)
    print_log(f'Loaded all {len(own)} weights from {path}', logger=logger)
