# Copyright (c) OpenMMLab. All rights reserved.
"""Turn checkpoints of several layouts into a backbone state dict."""
from collections import OrderedDict
from typing import Dict, Iterable, Mapping, Optional

import torch

# Keys under which checkpoints commonly nest their weights.
_WRAPPER_KEYS = ('state_dict', 'model', 'net')
# Prefixes stripped from parameter names, in this order.
_STRIP_PREFIXES = ('module.', )
# Prefixes that name the backbone inside a whole-model checkpoint.
_BACKBONE_PREFIXES = ('backbone.', 'module.backbone.')


def unwrap_state_dict(checkpoint: Mapping) -> Dict[str, torch.Tensor]:
    """Find the tensor dict of a checkpoint.

    Accepts a bare state dict, ``{'state_dict': ...}`` (mmengine and many
    face-recognition releases), ``{'model': ...}`` or ``{'net': ...}``.

    Args:
        checkpoint (Mapping): Object loaded from a checkpoint file.

    Returns:
        dict[str, torch.Tensor]: The tensors, keys unchanged.

    Raises:
        TypeError: If no dict of tensors is found.
    """
    state = checkpoint
    for _ in range(3):
        if not isinstance(state, Mapping):
            break
        if any(isinstance(v, torch.Tensor) for v in state.values()):
            return OrderedDict((k, v) for k, v in state.items()
                               if isinstance(v, torch.Tensor))
        inner = next((state[k] for k in _WRAPPER_KEYS if k in state), None)
        if inner is None:
            break
        state = inner
    raise TypeError('checkpoint holds no state dict of tensors (looked at '
                    f'the top level and keys {_WRAPPER_KEYS})')


def select_backbone_weights(
        state_dict: Mapping[str, torch.Tensor],
        own_keys: Iterable[str],
        prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Rename checkpoint keys to the backbone's own parameter names.

    ``module.`` (DataParallel/DDP) prefixes are stripped. Then, if
    ``prefix`` is given, only keys under it are kept, without it. Otherwise
    the layout is detected: when the keys under ``backbone.`` (an mmengine
    recognizer checkpoint) match more of the backbone's own names than the
    keys as they are (a torchvision-layout checkpoint), the ``backbone.``
    sub-dict is used.

    Args:
        state_dict (Mapping[str, torch.Tensor]): Tensors of a checkpoint.
        own_keys (Iterable[str]): The backbone's ``state_dict`` keys.
        prefix (str, optional): Explicit prefix of the backbone weights.
            Defaults to None (detect).

    Returns:
        dict[str, torch.Tensor]: Tensors renamed to backbone names (keys the
        backbone does not have are kept, for reporting).
    """
    state = OrderedDict()
    for key, value in state_dict.items():
        for strip in _STRIP_PREFIXES:
            if key.startswith(strip):
                key = key[len(strip):]
        state[key] = value
    if prefix is not None:
        return OrderedDict((k[len(prefix):], v) for k, v in state.items()
                           if k.startswith(prefix))
    own = set(own_keys)
    best, best_hits = state, len(own.intersection(state))
    for candidate in _BACKBONE_PREFIXES:
        sub = OrderedDict((k[len(candidate):], v) for k, v in state.items()
                          if k.startswith(candidate))
        hits = len(own.intersection(sub))
        if hits > best_hits:
            best, best_hits = sub, hits
    return best
