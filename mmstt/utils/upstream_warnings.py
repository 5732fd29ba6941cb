# Copyright (c) OpenMMLab. All rights reserved.
"""The known harmless upstream warnings, silenced in one place.

Each entry says why it is harmless for mmstt. Everything else is shown as
usual. The filters are exact (category, message start and, for Python
warnings, the emitting module), so a new warning of the same libraries
still reaches the user. :func:`filter_upstream_warnings` is applied by
``import mmstt``; the Runner's logger gets :class:`UpstreamLogFilter`
(``DFERRunner`` attaches it).
"""
import logging
import re
import warnings
from typing import List, NamedTuple, Optional, Type

__all__ = [
    'HARMLESS_LOG_MESSAGES', 'HARMLESS_WARNINGS', 'UpstreamLogFilter',
    'filter_upstream_warnings', 'quiet_logger'
]


class HarmlessWarning(NamedTuple):
    """A Python warning that is known to be harmless, and why."""
    category: Type[Warning]
    message: str  # regular expression matched at the start
    module: str  # regular expression for the emitting module
    reason: str


class HarmlessLogMessage(NamedTuple):
    """A warning MMEngine logs (not a Python warning), and why it is ok."""
    message: str  # regular expression matched at the start
    reason: str


HARMLESS_WARNINGS: List[HarmlessWarning] = [
    HarmlessWarning(
        UserWarning, r'Fail to import ``MultiScaleDeformableAttention``',
        r'mmcv\.cnn\.bricks\.transformer',
        'mmcv-lite ships no compiled ops; mmstt (and the MMAction2 '
        'recognizers it uses) never call MultiScaleDeformableAttention.'),
    HarmlessWarning(
        UserWarning, r'pkg_resources is deprecated as an API', r'.*',
        'mmengine 0.10.7 imports pkg_resources to resolve mmaction:: '
        'configs; requirements pin setuptools<81, which still has it.'),
    HarmlessWarning(
        FutureWarning, r'`broadcast_buffers` is deprecated',
        r'mmengine\..*|torch\.nn\.parallel\..*',
        "MMEngine's DDP wrapper passes broadcast_buffers; mmstt's models "
        'have no buffers that need syncing (BatchNorm statistics are kept '
        'per process, as MMAction2 does), and the replacement argument '
        'does not exist in mmengine 0.10.7.'),
]

HARMLESS_LOG_MESSAGES: List[HarmlessLogMessage] = [
    HarmlessLogMessage(
        r'"FileClient" will be deprecated in future',
        "MMAction2 1.2.0's decoding transforms still build a FileClient; "
        'mmengine logs this for every instance. Reading is unaffected.'),
    HarmlessLogMessage(
        r'"HardDiskBackend" is the alias of "LocalBackend"',
        "MMAction2's io_backend='disk' maps to this alias; it is the same "
        'local file backend.'),
]

_PATTERNS = [re.compile(entry.message) for entry in HARMLESS_LOG_MESSAGES]
_APPLIED = False


def filter_upstream_warnings() -> None:
    """Silence :data:`HARMLESS_WARNINGS`; quiet MMEngine's loggers.

    The existing ``MMLogger`` instances get :class:`UpstreamLogFilter`,
    including MMEngine's default ``'mmengine'`` logger (created here as
    MMEngine would create it at its first message), which ``print_log``
    uses outside a Runner. Later calls add nothing twice.
    """
    global _APPLIED
    if not _APPLIED:
        for entry in HARMLESS_WARNINGS:
            warnings.filterwarnings(
                'ignore',
                message=entry.message,
                category=entry.category,
                module=entry.module)
        _APPLIED = True
    from mmengine.logging import MMLogger
    if not MMLogger._instance_dict:
        MMLogger.get_instance('mmengine')
    for logger in list(MMLogger._instance_dict.values()):
        quiet_logger(logger)


class UpstreamLogFilter(logging.Filter):
    """Drops the log records listed in :data:`HARMLESS_LOG_MESSAGES`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tell whether ``record`` is to be shown.

        Args:
            record (logging.LogRecord): A log record.

        Returns:
            bool: False for a known harmless upstream message.
        """
        message = str(record.msg)
        return not any(p.match(message) for p in _PATTERNS)


def quiet_logger(logger: Optional[logging.Logger]) -> None:
    """Attach :class:`UpstreamLogFilter` to ``logger`` (once).

    Args:
        logger (logging.Logger, optional): E.g. a Runner's ``MMLogger``.
            Nothing happens for None.
    """
    if logger is None:
        return
    if not any(isinstance(f, UpstreamLogFilter) for f in logger.filters):
        logger.addFilter(UpstreamLogFilter())
