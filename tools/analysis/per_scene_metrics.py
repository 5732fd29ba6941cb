# Copyright (c) OpenMMLab. All rights reserved.
"""UAR/WAR per scene of FERV39k from a ``tools/test.py --dump`` file.

FERV39k's clips come from 22 scenes (Action, DailyLife, Talkshow ...).
This tool reads the predictions that ``tools/test.py CONFIG CKPT --dump
preds.pkl`` wrote and the split list they were made on
(``4_setups/All_scenes/test_All.csv``), and writes a table of clips, UAR
and WAR per scene (plus all scenes together) as Markdown and JSON. UAR of
a scene averages the recalls of the classes present in that scene's
ground truth, as the overall UAR does.

Predictions are matched to list lines by ``clip_id`` (the whole
``Scene/Emotion/NNNN`` path, which mmstt's configs pack with every
sample), or by ``sample_idx`` (the list order) when the dump has no
``clip_id``; a ground-truth label that disagrees with the list is an
error (a dump of another split or list).

The dump is a pickle. It is read with an unpickler that accepts only
tensors (their storages through torch's ``weights_only`` loader), dicts,
lists and plain values, so a dump file cannot run code.

Example:
    python tools/test.py configs/stt_ferv39k.py \
        work_dirs/stt_ferv39k/best_dfer_uar_epoch_*.pth --dump preds.pkl
    python tools/analysis/per_scene_metrics.py preds.pkl \
        data/FERV39k/4_setups/All_scenes/test_All.csv --out per_scene
"""
import argparse
import io
import json
import os.path as osp
import pickle
import sys
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from mmstt.datasets import DFER_CLASSES, parse_ferv39k_list
from mmstt.evaluation import dfer_scores

#: Globals a ``--dump`` pickle needs (tensors, ordered dicts, bytes).
_SAFE_GLOBALS = {
    ('torch._utils', '_rebuild_tensor_v2'),
    ('collections', 'OrderedDict'),
    ('_codecs', 'encode'),
}


def _storage_from_bytes(data: bytes) -> Any:
    """A pickled tensor storage, read by torch's ``weights_only`` loader."""
    return torch.load(io.BytesIO(data), weights_only=True)


class _DumpUnpickler(pickle.Unpickler):
    """Unpickler that only builds tensors, containers and plain values."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a global, refusing everything outside the allowlist."""
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return _storage_from_bytes
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'refusing {module}.{name}: a tools/test.py --dump file holds '
            'only tensors, dicts and plain values')


def _scalar(value: Any) -> int:
    """A label stored as tensor, array or int, as ``int``."""
    arr = np.asarray(
        value.numpy() if isinstance(value, torch.Tensor) else value)
    if arr.size != 1:
        raise ValueError(f'expected one label, got shape {arr.shape}')
    return int(arr.reshape(-1)[0])


def load_predictions(path: str) -> List[Dict]:
    """Read a ``tools/test.py --dump`` file.

    Args:
        path (str): The .pkl file.

    Returns:
        list[dict]: Per sample: ``pred``, ``gt`` (ints), ``num_scores``
        (or ``None``), ``clip_id`` and ``sample_idx`` (or ``None``).

    Raises:
        ValueError: If the file is not such a dump, or a score is not
            finite; the message names the file.
    """
    try:
        with open(path, 'rb') as f:
            raw = _DumpUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, RuntimeError,
            AttributeError, TypeError) as err:
        raise ValueError(
            f'{path}: not a tools/test.py --dump file: {err}') from err
    if not isinstance(raw, list):
        raise ValueError(f'{path}: expected a list of samples, got '
                         f'{type(raw).__name__}')
    out = []
    for i, sample in enumerate(raw):
        if not isinstance(sample, dict) or 'gt_label' not in sample:
            raise ValueError(f'{path}: sample {i} has no gt_label')
        num_scores = None
        if 'pred_score' in sample:
            score = torch.as_tensor(sample['pred_score']).float().reshape(-1)
            if not torch.isfinite(score).all():
                raise ValueError(f'{path}: sample {i} has non-finite '
                                 'prediction scores')
            num_scores = score.numel()
        if 'pred_label' in sample:
            pred = _scalar(sample['pred_label'])
        elif num_scores is not None:
            pred = int(score.argmax())
        else:
            raise ValueError(f'{path}: sample {i} has no prediction')
        idx = sample.get('sample_idx')
        out.append(
            dict(
                pred=pred,
                gt=_scalar(sample['gt_label']),
                num_scores=num_scores,
                clip_id=sample.get('clip_id'),
                sample_idx=None if idx is None else int(idx)))
    if not out:
        raise ValueError(f'{path}: the dump holds no sample')
    return out


def match_scenes(preds: Sequence[Dict], ann_file: str) -> List[Dict]:
    """Give every prediction its scene from the split list.

    Args:
        preds (Sequence[dict]): Output of :func:`load_predictions`.
        ann_file (str): The FERV39k list the predictions were made on.

    Returns:
        list[dict]: The predictions (one per distinct clip) with
        ``scene`` and ``clip_id``.

    Raises:
        ValueError: If a prediction matches no list line or its label
            disagrees with the list.
    """
    rows = parse_ferv39k_list(ann_file)
    by_clip = {r.clip: r for r in rows}
    matched, seen = [], set()
    for p in preds:
        if p['clip_id'] is not None:
            row = by_clip.get(str(p['clip_id']))
            key = f"clip_id {p['clip_id']}"
        elif p['sample_idx'] is not None and 0 <= p['sample_idx'] < len(rows):
            row = rows[p['sample_idx']]
            key = f"sample_idx {p['sample_idx']}"
        else:
            row, key = None, 'a sample without clip_id/sample_idx'
        if row is None:
            raise ValueError(f'{key} is not listed in {ann_file}')
        if row.label != p['gt']:
            raise ValueError(
                f'{key}: label {p["gt"]} in the dump, '
                f'{DFER_CLASSES[row.label]} ({row.label}) at '
                f'{ann_file}:{row.line}; the dump was made on another list')
        if row.clip in seen:  # distributed padding repeats samples
            continue
        seen.add(row.clip)
        matched.append(dict(p, scene=row.scene, clip_id=row.clip))
    if len(matched) != len(rows):
        print(
            f'warning: {len(matched)} of the {len(rows)} clips of '
            f'{ann_file} have a prediction',
            file=sys.stderr)
    return matched


def per_scene_table(samples: Sequence[Dict],
                    classes: Sequence[str] = DFER_CLASSES) -> Dict:
    """UAR, WAR and clip count per scene and over all scenes.

    Args:
        samples (Sequence[dict]): Output of :func:`match_scenes`.
        classes (Sequence[str]): Class names in label order. Defaults to
            :data:`~mmstt.datasets.DFER_CLASSES`.

    Returns:
        dict: ``scenes`` (scene -> ``clips``, ``uar``, ``war`` in percent,
        ``classes_present``) sorted by scene, and ``all`` (the same over
        every clip), ``classes``.
    """
    widths = {s['num_scores'] for s in samples} - {None}
    if widths and widths != {len(classes)}:
        raise ValueError(f'the dump has {sorted(widths)} scores per clip, '
                         f'FERV39k has {len(classes)} classes')
    groups: Dict[str, List[Dict]] = defaultdict(list)
    for s in samples:
        groups[s['scene']].append(s)

    def row(items: Sequence[Dict]) -> Dict:
        scores = dfer_scores([s['pred'] for s in items],
                             [s['gt'] for s in items], len(classes))
        return dict(
            clips=len(items),
            uar=100 * scores['uar'],
            war=100 * scores['war'],
            classes_present=int((scores['support'] > 0).sum()))

    return dict(
        classes=list(classes),
        scenes={scene: row(groups[scene])
                for scene in sorted(groups)},
        all=row(samples))


def to_markdown(table: Dict) -> str:
    """Render :func:`per_scene_table` as Markdown.

    Args:
        table (dict): Output of :func:`per_scene_table`.

    Returns:
        str: A note and the table.
    """
    lines = [
        'FERV39k per scene; UAR/WAR in %. UAR averages the classes present '
        'in the scene (column "classes").', '',
        '| scene | clips | classes | UAR | WAR |', '|---|---|---|---|---|'
    ]
    rows = list(table['scenes'].items()) + [('all scenes', table['all'])]
    for scene, r in rows:
        lines.append(f'| {scene} | {r["clips"]} | {r["classes_present"]} | '
                     f'{r["uar"]:.2f} | {r["war"]:.2f} |')
    return '\n'.join(lines) + '\n'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        description='UAR/WAR per FERV39k scene from the predictions of '
        'tools/test.py --dump and the split list they were made on; '
        'writes Markdown and JSON.')
    parser.add_argument('dump', help='.pkl written by tools/test.py --dump')
    parser.add_argument(
        'ann_file',
        help='the FERV39k list of the tested split, e.g. '
        'data/FERV39k/4_setups/All_scenes/test_All.csv')
    parser.add_argument(
        '--out',
        default=None,
        help='output prefix for .md and .json (default: the dump path '
        'without extension + _per_scene)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    """Compute and write the per-scene table.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        dict: The table written to JSON.
    """
    args = parse_args(argv)
    samples = match_scenes(load_predictions(args.dump), args.ann_file)
    table = per_scene_table(samples)
    markdown = to_markdown(table)
    print(markdown)
    out = args.out or osp.splitext(args.dump)[0] + '_per_scene'
    with open(out + '.md', 'w') as f:
        f.write(markdown)
    # Every scene has a clip, so no value is NaN: strict JSON.
    with open(out + '.json', 'w') as f:
        json.dump(table, f, indent=2, allow_nan=False)
    print(f'written: {out}.md, {out}.json')
    return table


if __name__ == '__main__':
    main()
