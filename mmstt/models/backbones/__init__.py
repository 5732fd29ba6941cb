# Copyright (c) OpenMMLab. All rights reserved.
from .basic_block import BasicBlock
from .pretrained import select_backbone_weights, unwrap_state_dict
from .resnet_tokenizer import ResNetTokenizer

__all__ = [
    'BasicBlock', 'ResNetTokenizer', 'select_backbone_weights',
    'unwrap_state_dict'
]
