# Copyright (c) OpenMMLab. All rights reserved.
from .dfer_metric import DFERMetric, dfer_scores

__all__ = ['DFERMetric', 'dfer_scores']
