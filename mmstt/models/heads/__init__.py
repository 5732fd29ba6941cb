# Copyright (c) OpenMMLab. All rights reserved.
from .stt_head import STTHead

__all__ = ['STTHead']
