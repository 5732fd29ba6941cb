# Copyright (c) OpenMMLab. All rights reserved.
from .basic_block import BasicBlock
from .conv_bn import can_fold, conv_bn
from .max_pool import separable_max_pool_3x3_s2, stem_max_pool
from .pretrained import select_backbone_weights, unwrap_state_dict
from .resnet_tokenizer import ResNetTokenizer

__all__ = [
    'BasicBlock', 'ResNetTokenizer', 'can_fold', 'conv_bn',
    'separable_max_pool_3x3_s2', 'stem_max_pool', 'select_backbone_weights',
    'unwrap_state_dict'
]
