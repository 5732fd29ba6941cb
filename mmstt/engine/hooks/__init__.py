# Copyright (c) OpenMMLab. All rights reserved.
from .dfer_report_hook import DFERReportHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = ['DFERReportHook', 'NonFiniteLossError', 'NonFiniteLossHook']
