# Copyright (c) OpenMMLab. All rights reserved.
"""The known harmless upstream warnings are filtered, and only they."""
import logging
import os
import os.path as osp
import subprocess
import sys

from mmstt.utils.upstream_warnings import (HARMLESS_LOG_MESSAGES,
                                           HARMLESS_WARNINGS,
                                           UpstreamLogFilter)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# Triggers every listed warning the way the stack emits it, with Python's
# warnings shown (-W default), then one warning that must still show.
SCRIPT = r'''
import warnings
import mmstt  # imports mmcv.cnn.bricks.transformer (MSDA warning)
import mmaction.models  # noqa
import pkg_resources  # noqa  (deprecation warning on first import)
from mmengine.fileio import FileClient
from mmengine.fileio.file_client import HardDiskBackend
FileClient('disk')
HardDiskBackend()
import torch
import torch.distributed as dist
dist.init_process_group('gloo', init_method='file://' + STORE, rank=0,
                        world_size=1)
from mmengine.model import MMDistributedDataParallel
MMDistributedDataParallel(module=torch.nn.Linear(2, 2),
                          broadcast_buffers=False)
dist.destroy_process_group()
warnings.warn_explicit('another mmcv warning', UserWarning, 'x.py', 1,
                       module='mmcv.cnn.bricks.transformer')
print('DONE')
'''


def test_known_warnings_are_silent_and_others_are_not(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYTHONWARNINGS', None)
    code = f'STORE = {str(tmp_path / "store")!r}\n' + SCRIPT
    result = subprocess.run([sys.executable, '-W', 'default', '-c', code],
                            cwd=REPO,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and 'DONE' in output, output[-3000:]
    for text in ('MultiScaleDeformableAttention', 'pkg_resources is deprec',
                 '"FileClient" will be deprecated', 'HardDiskBackend',
                 '`broadcast_buffers` is deprecated'):
        assert text not in output, text
    # The filters are narrow: another warning of the same module shows.
    assert 'another mmcv warning' in output


def test_every_filter_says_why():
    for entry in HARMLESS_WARNINGS + HARMLESS_LOG_MESSAGES:
        assert len(entry.reason.split()) >= 8


def test_log_filter_drops_only_the_listed_messages():
    keep = UpstreamLogFilter()

    def record(msg):
        return logging.LogRecord('mmengine', logging.WARNING, 'x', 1, msg,
                                 None, None)

    assert not keep.filter(
        record('"FileClient" will be deprecated in future. Please use'))
    assert not keep.filter(
        record('"HardDiskBackend" is the alias of "LocalBackend" and'))
    assert keep.filter(record('"FileClient" could not read data/x.mp4'))
    assert keep.filter(record('Epoch(train) [1][1/6] loss: nan'))
