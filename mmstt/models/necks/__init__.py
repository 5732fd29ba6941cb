# Copyright (c) OpenMMLab. All rights reserved.
from .factorized_attention import FactorizedAttention
from .pos_embed import resize_spatial_embed, resize_temporal_embed
from .spatio_temporal_transformer import SpatioTemporalTransformer
from .stt_block import STTBlock, residual_add
from .token_linear import TokenLinear, conv1x1_linear
from .token_mlp import TokenMLP

__all__ = [
    'FactorizedAttention', 'STTBlock', 'SpatioTemporalTransformer', 'TokenMLP',
    'TokenLinear', 'conv1x1_linear', 'residual_add', 'resize_spatial_embed',
    'resize_temporal_embed'
]
