# Copyright (c) OpenMMLab. All rights reserved.
# ``kernels`` holds the model's kernel rules and ``frozen_graph`` its
# compiled inference; both are internal to the models.
__all__ = []
