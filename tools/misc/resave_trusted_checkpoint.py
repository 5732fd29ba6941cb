# Copyright (c) OpenMMLab. All rights reserved.
"""Re-save ONE checkpoint you trust as plain weights and plain metadata.

mmstt reads checkpoints only with torch's safe (``weights_only``) loader.
A file it refuses (one that pickles objects beyond tensors, numbers,
strings and containers, e.g. custom classes or functions) can be used only
by converting it with this tool, which you point at one file whose origin
you trust. It is the only place in mmstt that unpickles a file with the
full pickle machinery: unpickling an untrusted file can run arbitrary
code. There is no global switch.

The output holds ``state_dict`` (tensors only) and ``meta`` with only
plain values (dicts, lists, strings, numbers, booleans, None; numpy arrays
and scalars become lists and numbers). Optimizer, scheduler and logging
state are dropped, so the output loads with ``load_from=``/``tools/test.py``
but cannot be resumed. What was dropped is printed. The output is read
back through the safe loader before the tool reports success.

Example:
    python tools/misc/resave_trusted_checkpoint.py \
        downloads/stt_dfew_fold1.pth checkpoints/stt_dfew_fold1_plain.pth
"""
import argparse
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, List, Optional, Tuple

import numpy as np
import torch

import mmstt  # noqa: F401  (registers the safe local loader)
from mmstt.engine import read_checkpoint, state_dict_of

_PLAIN = (str, int, float, bool, type(None))


def plain(value: Any, path: str, dropped: List[str]) -> Tuple[bool, Any]:
    """Convert ``value`` to plain Python data, or report it dropped.

    Args:
        value (Any): A metadata value.
        path (str): Its place in the metadata, for the report.
        dropped (list[str]): Receives ``path (type)`` of what is dropped.

    Returns:
        tuple: ``(kept, converted)``.
    """
    if isinstance(value, _PLAIN):
        return True, value
    if isinstance(value, np.generic):
        return True, value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in 'biuf':
        return True, value.tolist()
    if isinstance(value, torch.Tensor):
        return True, value.detach().cpu().tolist()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, _PLAIN):
                dropped.append(f'{path}[{key!r}] (key of type '
                               f'{type(key).__name__})')
                continue
            kept, conv = plain(item, f'{path}.{key}', dropped)
            if kept:
                out[key] = conv
        return True, out
    if isinstance(value, (list, tuple)):
        out_list = []
        for i, item in enumerate(value):
            kept, conv = plain(item, f'{path}[{i}]', dropped)
            if kept:
                out_list.append(conv)
        return True, out_list if isinstance(value, list) else tuple(out_list)
    dropped.append(f'{path} ({type(value).__module__}.'
                   f'{type(value).__qualname__})')
    return False, None


def resave(src: str, dst: str) -> List[str]:
    """Re-save the trusted file ``src`` as plain data in ``dst``.

    Args:
        src (str): The checkpoint the user trusts.
        dst (str): Output path (must differ from ``src``).

    Returns:
        list[str]: What was dropped.

    Raises:
        ValueError: If ``dst`` is ``src`` or ``src`` holds no weights.
    """
    if osp.abspath(src) == osp.abspath(dst):
        raise ValueError('OUT must differ from FILE; the original is kept.')
    # The one deliberate full unpickling in mmstt, of a file the user
    # named as trusted on the command line.
    raw = torch.load(src, map_location='cpu', weights_only=False)
    if not isinstance(raw, dict):
        raise ValueError(f'{src} holds a {type(raw).__name__}, not a dict')
    state = state_dict_of(raw, src)
    dropped = [
        f'{key} (training state)'
        for key in ('optimizer', 'param_schedulers', 'message_hub')
        if key in raw
    ]
    other = [
        k for k in raw if k not in ('state_dict', 'model', 'meta', 'optimizer',
                                    'param_schedulers', 'message_hub')
    ]
    dropped += [f'{k} (top-level entry)' for k in other]
    _, meta = plain(raw.get('meta', {}), 'meta', dropped)
    out = dict(
        state_dict=OrderedDict(
            (k, v.detach().cpu().clone()) for k, v in state.items()),
        meta=meta)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = dst + '.part'
    torch.save(out, tmp)
    os.replace(tmp, dst)
    check = read_checkpoint(dst)  # must pass the safe loader
    assert len(state_dict_of(check, dst)) == len(state)
    return dropped


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Re-save ONE checkpoint you trust (e.g. one the safe '
        'loader refused) as plain tensors + plain metadata, loadable by '
        'torch\'s weights-only loader. WARNING: FILE is fully unpickled, '
        'which runs any code it contains; use only files you trust.')
    parser.add_argument('file', metavar='FILE', help='trusted checkpoint')
    parser.add_argument('out', metavar='OUT', help='output checkpoint path')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Convert FILE to OUT and report what was dropped.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).
    """
    args = parse_args(argv)
    if not osp.isfile(args.file):
        raise SystemExit(f'{args.file} does not exist.')
    dropped = resave(args.file, args.out)
    print(f'Wrote {args.out}: plain weights and metadata from {args.file}; '
          'it loads with the safe loader (load_from=, tools/test.py) but '
          'cannot be resumed.')
    if dropped:
        print('Dropped: ' + '; '.join(dropped))


if __name__ == '__main__':
    main()
