# Copyright (c) OpenMMLab. All rights reserved.
"""Shared fixtures: generated DFEW/AFEW look-alikes (session scoped), a
loader for the scripts under ``tools/`` and a fresh MMEngine log."""
import importlib.util
import os.path as osp
import uuid
from types import ModuleType
from typing import Callable, Iterator

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _import_tool(relpath: str) -> ModuleType:
    """Import ``tools/<relpath>`` as a fresh module (tools/ is no package)."""
    path = osp.join(REPO, 'tools', relpath)
    name = 'mmstt_tool_' + relpath[:-3].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def load_tool() -> Callable[[str], ModuleType]:
    """A function importing ``tools/<relpath>`` (e.g. ``'train.py'``).

    Each call executes the script afresh, so tests never share its module
    state.
    """
    return _import_tool


@pytest.fixture(scope='session')
def dfew_sample_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DFEW look-alike in the released layout (21 clips, 5 folds).

    Read-only for tests: copy before modifying.
    """
    from mmstt.testing import SMALL_DFEW_SAMPLE, make_dfew_sample
    root = tmp_path_factory.mktemp('dfew_sample')
    make_dfew_sample(str(root), seed=0, **SMALL_DFEW_SAMPLE)
    return str(root)


@pytest.fixture(scope='session')
def afew_sample_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An AFEW look-alike (21 whole-frame .avi videos, train and val).

    Read-only for tests: copy before modifying.
    """
    from mmstt.testing import make_afew_sample
    root = tmp_path_factory.mktemp('afew_sample')
    make_afew_sample(str(root), seed=0)
    return str(root)


@pytest.fixture(scope='session')
def ferv39k_sample_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A FERV39k look-alike in the released layout (14 train / 7 test).

    Read-only for tests: copy before modifying.
    """
    from mmstt.testing import make_ferv39k_sample
    root = tmp_path_factory.mktemp('ferv39k_sample')
    make_ferv39k_sample(str(root), seed=0)
    return str(root)


@pytest.fixture(scope='session')
def mafw_sample_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A MAFW look-alike in the released layout (55 clips, 5 folds).

    Read-only for tests: copy before modifying.
    """
    from mmstt.testing import make_mafw_sample
    root = tmp_path_factory.mktemp('mafw_sample')
    make_mafw_sample(str(root), seed=0)
    return str(root)


@pytest.fixture
def mm_log(tmp_path) -> Iterator[Callable[[], str]]:
    """Make a fresh MMEngine logger with a log file the current one.

    Returns a function that reads what was logged so far (``print_log``
    with ``logger='current'`` goes there).
    """
    from mmengine.logging import MMLogger
    path = tmp_path / 'mmengine.log'
    name = f'test-{uuid.uuid4().hex}'
    logger = MMLogger.get_instance(name, log_file=str(path))

    def read() -> str:
        for handler in logger.handlers:
            handler.flush()
        return path.read_text() if path.exists() else ''

    yield read
    for handler in list(logger.handlers):
        if hasattr(handler, 'baseFilename'):
            handler.close()
            logger.removeHandler(handler)
    # Do not leave a logger pointing at a deleted folder as the current one.
    MMLogger._instance_dict.pop(name, None)
