# Copyright (c) OpenMMLab. All rights reserved.
from .attention import Attention
from .mlp import Mlp
from .spatio_temporal_transformer import SpatioTemporalTransformer
from .stt_block import STTBlock

__all__ = ['Attention', 'Mlp', 'STTBlock', 'SpatioTemporalTransformer']
