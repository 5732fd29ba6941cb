# Copyright (c) OpenMMLab. All rights reserved.
"""DFEW 5-fold cross-validation (kept name of ``tools/cross_validation.py``).

Same as ``python tools/cross_validation.py dfew ...``; see that tool for
the options (``--data-root``, ``--collect-only``, ``--choice`` ...).

Example:
    python tools/dfew_cross_validation.py --data-root /data/DFEW
"""
import importlib.util
import os.path as osp
import sys
from typing import Dict, List, Optional


def _load_cross_validation():
    """Import ``tools/cross_validation.py`` (tools/ is no package)."""
    path = osp.join(osp.dirname(osp.abspath(__file__)), 'cross_validation.py')
    spec = importlib.util.spec_from_file_location('mmstt_cross_validation',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_cv = _load_cross_validation()
read_val_records = _cv.read_val_records
select_record = _cv.select_record
summarize = _cv.summarize
to_markdown = _cv.to_markdown
CHOICES = _cv.CHOICES


def parse_args(argv: Optional[List[str]] = None):
    """Parse the command line of ``cross_validation.py dfew``.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    return _cv.parse_args(argv, dataset='dfew')


def main(argv: Optional[List[str]] = None) -> Dict:
    """Run ``cross_validation.py dfew``.

    Args:
        argv (list[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        dict: The summary written to JSON.
    """
    return _cv.main(argv, dataset='dfew')


if __name__ == '__main__':
    main(sys.argv[1:])
