# Copyright (c) OpenMMLab. All rights reserved.
from .dfer_sample_frames import DFERSampleFrames
from .frame_folder_decode import FrameFolderDecode
from .video_decode import DFERVideoDecode, DFERVideoInit

__all__ = [
    'DFERSampleFrames', 'DFERVideoDecode', 'DFERVideoInit', 'FrameFolderDecode'
]
