# Copyright (c) OpenMMLab. All rights reserved.
# ``kernels`` holds the model's kernel rules; it is internal to the models.
__all__ = []
