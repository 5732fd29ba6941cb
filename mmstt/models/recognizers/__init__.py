# Copyright (c) OpenMMLab. All rights reserved.
from .stt_recognizer import STTRecognizer

__all__ = ['STTRecognizer']
