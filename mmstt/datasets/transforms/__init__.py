# Copyright (c) OpenMMLab. All rights reserved.

__all__ = []
