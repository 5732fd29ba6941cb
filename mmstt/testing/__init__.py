# Copyright (c) OpenMMLab. All rights reserved.
"""Generated data and small trained models for tests and benchmarks."""
from .order_task import (ORDER_STT, build_order_stt, make_order_clips,
                         order_logits, train_order_stt)

__all__ = [
    'ORDER_STT', 'build_order_stt', 'make_order_clips', 'order_logits',
    'train_order_stt'
]
