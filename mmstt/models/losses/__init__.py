# Copyright (c) OpenMMLab. All rights reserved.
from .compact_softmax_loss import CompactSoftmaxLoss

__all__ = ['CompactSoftmaxLoss']
