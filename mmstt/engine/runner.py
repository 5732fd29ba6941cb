# Copyright (c) OpenMMLab. All rights reserved.
"""MMEngine's Runner with strict checkpoints and nothing lost silently.

``configs/_base_/default_runtime.py`` sets ``runner_type = 'DFERRunner'``,
and both mmstt's and MMAction2's own ``tools/train.py``/``tools/test.py``
build ``RUNNERS.build(cfg)`` when a config has ``runner_type``. So the
rules below hold whichever of these scripts loads an mmstt config.
"""
import logging
import os.path as osp
from typing import Any, Callable, Iterator, List, Optional, Union

import torch
from mmaction.registry import RUNNERS
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.base_loop import BaseLoop

from mmstt.utils.upstream_warnings import quiet_logger
from .checkpoint import (LOAD_HEAD_MODES, apply_checkpoint_strict,
                         checkpoint_class_names, read_checkpoint)
from .hooks import DFERReportHook, NonFiniteLossHook

__all__ = ['DFERRunner', 'NonFiniteWeightsError']


class NonFiniteWeightsError(FloatingPointError):
    """A checkpoint was about to be saved with NaN or infinite weights."""


class _DropLongDumps(logging.Filter):
    """Keeps the environment, config and hook-order dumps off the console."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tell whether ``record`` goes to the console.

        Args:
            record (logging.LogRecord): A log record.

        Returns:
            bool: False for the long dumps (they stay in the log file).
        """
        message = str(record.msg)
        return not (message.startswith(
            ('Config:\n', 'Hooks will be executed in the following order'))
                    or 'System environment:' in message[:200])


@RUNNERS.register_module()
class DFERRunner(Runner):
    """A Runner that loads every checkpoint strictly and stops on NaN.

    Differences from :class:`mmengine.runner.Runner`:

    * ``load_from`` (and the checkpoint of ``tools/test.py``) loads through
      :func:`~mmstt.engine.apply_checkpoint_strict`: missing, unexpected or
      mis-shaped keys are an error naming the file. The top-level config
      key ``load_head`` (``'strict'``, the default, or ``'map_classes'``)
      is the one way to fine-tune with another classifier. Resuming is
      always strict.
    * Every checkpoint is read by the safe loader; an unreadable file is an
      error naming it and its size.
    * ``resume=True`` with no checkpoint in the work dir says so plainly.
    * A NaN or infinite loss stops training (:class:`NonFiniteLossHook`),
      and no checkpoint with non-finite weights is ever saved.
    * :class:`DFERReportHook` is added (summaries, learning curve, the
      reported confusion matrix) unless the config has one.
    * The environment, config and hook-order dumps go to the log file only,
      unless the config sets ``show_config=True`` (``--show-config``).

    It takes the same arguments as :class:`~mmengine.runner.Runner`.
    """

    _resuming = False

    # ------------------------------------------------------------ logging
    def _console_handlers(self) -> Iterator[logging.Handler]:
        for handler in self.logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                    handler, logging.FileHandler):
                yield handler

    def build_logger(self, *args: Any, **kwargs: Any) -> Any:
        """Build MMEngine's logger, without the known harmless messages.

        Args:
            *args (Any): Passed to :meth:`Runner.build_logger`.
            **kwargs (Any): Passed to :meth:`Runner.build_logger`.

        Returns:
            MMLogger: The logger.
        """
        logger = super().build_logger(*args, **kwargs)
        quiet_logger(logger)
        return logger

    def _log_env(self, env_cfg: dict) -> None:
        """Log environment and config to the log file (console: one line).

        From here on the console also leaves out MMEngine's hook-order
        dump; all of it stays in the log file. ``show_config=True`` in the
        config (``--show-config``) prints everything.

        Args:
            env_cfg (dict): The environment config of the runner.
        """
        if self.cfg.get('show_config', False):
            super()._log_env(env_cfg)
            return
        for handler in self._console_handlers():
            if not any(isinstance(f, _DropLongDumps) for f in handler.filters):
                handler.addFilter(_DropLongDumps())
        super()._log_env(env_cfg)
        log_file = getattr(self.logger, 'log_file', None)
        self.logger.info(f'Environment and full config written to {log_file} '
                         '(print them with --show-config).')

    # -------------------------------------------------------------- hooks
    def register_hooks(self,
                       default_hooks: Optional[dict] = None,
                       custom_hooks: Optional[List[Any]] = None) -> None:
        """Register the config's hooks, then mmstt's safety and report hooks.

        Args:
            default_hooks (dict, optional): Default hooks of the config.
                Defaults to None.
            custom_hooks (list, optional): Custom hooks of the config.
                Defaults to None.
        """
        super().register_hooks(default_hooks, custom_hooks)
        present = {type(hook) for hook in self._hooks}
        if NonFiniteLossHook not in present:
            self.register_hook(NonFiniteLossHook())
        if DFERReportHook not in present:
            self.register_hook(DFERReportHook())

    # --------------------------------------------------------- checkpoint
    def _dataset_classes(self) -> Optional[List[str]]:
        """Class names of the data set of the first built loop."""
        for name in ('_train_loop', '_val_loop', '_test_loop'):
            loop = getattr(self, name, None)
            if not isinstance(loop, BaseLoop):
                continue
            meta = getattr(loop.dataloader.dataset, 'metainfo', None)
            classes = checkpoint_class_names(dict(dataset_meta=meta))
            if classes:
                return classes
        return None

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = True,
                        revise_keys: Any = None) -> dict:
        """Read a checkpoint and load its weights strictly.

        Args:
            filename (str): Local checkpoint path.
            map_location (str | Callable): Same as :func:`torch.load`.
                Defaults to ``'cpu'``.
            strict (bool): Kept for MMEngine's signature; loading is always
                strict (``load_head='map_classes'`` being the one
                exception). Defaults to True.
            revise_keys (Any): Ignored; the ``module.`` prefix of wrapped
                models is removed. Defaults to None.

        Returns:
            dict: The checkpoint.
        """
        load_head = 'strict' if self._resuming else self.cfg.get(
            'load_head', 'strict')
        if load_head not in LOAD_HEAD_MODES:
            raise ValueError(f'load_head must be one of {LOAD_HEAD_MODES}, '
                             f'got {load_head!r}')
        checkpoint = read_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        apply_checkpoint_strict(
            model,
            checkpoint,
            filename,
            load_head,
            logger=self.logger,
            classes=self._dataset_classes())
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(self, filename: str, *args: Any, **kwargs: Any) -> None:
        """Resume training state from ``filename`` (always strict).

        Args:
            filename (str): Local checkpoint path.
            *args (Any): Passed to :meth:`mmengine.runner.Runner.resume`.
            **kwargs (Any): Passed to :meth:`mmengine.runner.Runner.resume`.
        """
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_or_resume(self) -> None:
        """Load ``load_from`` or resume; say plainly when nothing resumes."""
        if self._has_loaded:
            return None
        if self._resume and self._load_from is None:
            from mmengine.runner.checkpoint import find_latest_checkpoint
            latest = find_latest_checkpoint(self.work_dir)
            if latest is None:
                self.logger.warning(
                    f'--resume: nothing to resume in {self.work_dir} (it '
                    'holds no last_checkpoint file). Training starts from '
                    'the initial weights.')
                self._resume = False
                return None
            if not osp.isfile(latest):
                raise FileNotFoundError(
                    f'--resume: {osp.join(self.work_dir, "last_checkpoint")}'
                    f' names {latest}, which does not exist. Give the '
                    'checkpoint to resume from with --resume PATH.')
            self.logger.info(f'Resuming from the latest checkpoint {latest}')
            self.resume(latest)
            self._has_loaded = True
            return None
        return super().load_or_resume()

    def save_checkpoint(self, out_dir: str, filename: str, *args: Any,
                        **kwargs: Any) -> None:
        """Save a checkpoint unless the model has non-finite weights.

        Args:
            out_dir (str): Folder of the checkpoint.
            filename (str): File name.
            *args (Any): Passed to
                :meth:`mmengine.runner.Runner.save_checkpoint`.
            **kwargs (Any): Passed to
                :meth:`mmengine.runner.Runner.save_checkpoint`.

        Raises:
            NonFiniteWeightsError: If a weight or buffer is NaN or
                infinite; nothing is written.
        """
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        bad = [
            name for name, value in model.state_dict().items() if
            torch.is_floating_point(value) and not torch.isfinite(value).all()
        ]
        if bad:
            shown = ', '.join(bad[:5]) + (' ...' if len(bad) > 5 else '')
            raise NonFiniteWeightsError(
                f'Not saving {osp.join(out_dir, filename)}: {len(bad)} '
                f'tensors of the model are NaN or infinite after epoch '
                f'{self.epoch + 1}, iteration {self.iter} ({shown}). '
                'Training diverged; lower the learning rate.')
        super().save_checkpoint(out_dir, filename, *args, **kwargs)
