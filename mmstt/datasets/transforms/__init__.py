# Copyright (c) OpenMMLab. All rights reserved.
from .dfer_sample_frames import DFERSampleFrames
from .frame_folder_decode import FrameFolderDecode

__all__ = ['DFERSampleFrames', 'FrameFolderDecode']
