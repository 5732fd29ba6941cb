# Copyright (c) OpenMMLab. All rights reserved.
"""Make ``benchmarks`` (a folder of the repository, not of the installed
package) importable however pytest is started."""
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
