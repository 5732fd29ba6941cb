# Copyright (c) OpenMMLab. All rights reserved.
from .face_detection import (FACE_DETECTORS, FaceDetector, HaarDetector,
                             YuNetDetector, build_face_detector,
                             yunet_model_path)
from .face_tracking import (FaceTrack, crop_face, detect_and_track, square_box,
                            track_face)
from .inference import (build_inference_pipeline, class_names_of,
                        config_pipeline, default_device, inference_recognizer,
                        init_recognizer, iter_clip_frames,
                        predict_probabilities, read_clip_frames,
                        to_probabilities)
from .runner_utils import (apply_data_root, fit_cpu_loaders,
                           prepare_device_env, resolve_checkpoint)
from .timeline import (Timeline, plot_timeline, video_timeline,
                       write_annotated_video, write_timeline,
                       write_timeline_csv)

__all__ = [
    'apply_data_root', 'build_inference_pipeline', 'default_device',
    'fit_cpu_loaders', 'inference_recognizer', 'init_recognizer',
    'prepare_device_env', 'read_clip_frames', 'resolve_checkpoint',
    'FACE_DETECTORS', 'FaceDetector', 'HaarDetector', 'YuNetDetector',
    'build_face_detector', 'yunet_model_path', 'FaceTrack', 'crop_face',
    'detect_and_track', 'square_box', 'track_face', 'class_names_of',
    'config_pipeline', 'iter_clip_frames', 'predict_probabilities',
    'to_probabilities', 'Timeline', 'plot_timeline', 'video_timeline',
    'write_annotated_video', 'write_timeline', 'write_timeline_csv'
]
