# Copyright (c) OpenMMLab. All rights reserved.
# ``resolve_checkpoint`` (a checkpoint glob matching one file) lives in
# mmstt.engine with the other checkpoint code; users of the inference API
# get it here too.
from mmstt.engine.checkpoint import resolve_checkpoint
from .attention_maps import AttentionMaps, compute_attention_maps
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
from .onnx_export import check_onnx, export_onnx
from .onnx_inference import ONNXRecognizer
from .timeline import (Timeline, plot_timeline, video_timeline,
                       write_annotated_video, write_timeline,
                       write_timeline_csv)

__all__ = [
    'build_inference_pipeline', 'default_device', 'inference_recognizer',
    'init_recognizer', 'read_clip_frames', 'resolve_checkpoint',
    'FACE_DETECTORS', 'FaceDetector', 'HaarDetector', 'YuNetDetector',
    'build_face_detector', 'yunet_model_path', 'FaceTrack', 'crop_face',
    'detect_and_track', 'square_box', 'track_face', 'class_names_of',
    'config_pipeline', 'iter_clip_frames', 'predict_probabilities',
    'to_probabilities', 'Timeline', 'plot_timeline', 'video_timeline',
    'write_annotated_video', 'write_timeline', 'write_timeline_csv',
    'AttentionMaps', 'compute_attention_maps', 'check_onnx', 'export_onnx',
    'ONNXRecognizer'
]
