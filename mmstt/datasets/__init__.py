# Copyright (c) OpenMMLab. All rights reserved.
from .afew_dataset import AFEWDataset
from .annotation_text import AnnotationText, read_annotation_text
from .base_dfer_dataset import MEDIA_ERRORS, BaseDFERDataset
from .dfer_classes import (CLASS_FOLDER_ALIASES, DFER_CLASSES, MAFW_CLASSES,
                           MAFW_LABELS, class_index_from_folder)
from .dfew_annotations import (DFEWRow, dfew_split_file_candidates,
                               find_dfew_split_file, normalize_clip_id,
                               parse_dfew_csv, parse_former_dfer_list)
from .dfew_dataset import DFEWDataset
from .errors import CorruptClipError, DFERDataError
from .ferv39k_dataset import FERV39kDataset
from .frame_folder import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS,
                           list_frame_files, natural_sort_key)
from .mafw_dataset import MAFWDataset
from .released_lists import (ListRow, ferv39k_split_file, mafw_split_file,
                             parse_ferv39k_list, parse_mafw_list)
from .transforms import *  # noqa: F401,F403
from .transforms import DFERSampleFrames, FrameFolderDecode
from .video_io import VideoReader, write_video

__all__ = [
    'AFEWDataset', 'BaseDFERDataset', 'CLASS_FOLDER_ALIASES',
    'CorruptClipError', 'DFERDataError', 'DFER_CLASSES', 'DFEWDataset',
    'DFEWRow', 'DFERSampleFrames', 'FrameFolderDecode', 'IMAGE_EXTENSIONS',
    'MEDIA_ERRORS', 'VIDEO_EXTENSIONS', 'class_index_from_folder',
    'dfew_split_file_candidates', 'find_dfew_split_file', 'list_frame_files',
    'natural_sort_key', 'normalize_clip_id', 'parse_dfew_csv',
    'parse_former_dfer_list', 'VideoReader', 'write_video', 'AnnotationText',
    'read_annotation_text', 'MAFW_CLASSES', 'MAFW_LABELS', 'FERV39kDataset',
    'MAFWDataset', 'ListRow', 'ferv39k_split_file', 'mafw_split_file',
    'parse_ferv39k_list', 'parse_mafw_list'
]
