# Copyright (c) OpenMMLab. All rights reserved.
from .resnet_tokenizer import ResNetTokenizer

__all__ = ['ResNetTokenizer']
