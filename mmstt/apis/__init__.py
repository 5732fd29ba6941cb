# Copyright (c) OpenMMLab. All rights reserved.
from .inference import (build_inference_pipeline, default_device,
                        inference_recognizer, init_recognizer,
                        read_clip_frames)
from .runner_utils import (apply_data_root, fit_cpu_loaders,
                           prepare_device_env, resolve_checkpoint)

__all__ = [
    'apply_data_root', 'build_inference_pipeline', 'default_device',
    'fit_cpu_loaders', 'inference_recognizer', 'init_recognizer',
    'prepare_device_env', 'read_clip_frames', 'resolve_checkpoint'
]
