# Copyright (c) OpenMMLab. All rights reserved.
"""Generated data and small trained models for tests and benchmarks."""
from .afew_sample import AFEW_CLASS_FOLDERS, make_afew_sample
from .dfew_sample import (SMALL_DFEW_SAMPLE, clip_lengths, identity_key,
                          make_dfew_sample)
from .faces import (EXPRESSION_APEX, NEUTRAL_FACE, expression_params,
                    render_clip, render_frames, sample_identity, sample_scene)
from .order_task import (ORDER_STT, build_order_stt, make_order_clips,
                         order_logits, train_order_stt)
from .released_layouts import make_ferv39k_sample, make_mafw_sample
from .toy_runner import ToyLinear, ToyPoints, build_toy_runner, toy_dataloader

__all__ = [
    'AFEW_CLASS_FOLDERS', 'EXPRESSION_APEX', 'SMALL_DFEW_SAMPLE',
    'NEUTRAL_FACE', 'ORDER_STT', 'build_order_stt', 'clip_lengths',
    'expression_params', 'identity_key', 'make_afew_sample',
    'make_dfew_sample', 'make_order_clips', 'order_logits', 'render_clip',
    'render_frames', 'sample_identity', 'sample_scene', 'train_order_stt',
    'make_ferv39k_sample', 'make_mafw_sample', 'ToyLinear', 'ToyPoints',
    'build_toy_runner', 'toy_dataloader'
]
