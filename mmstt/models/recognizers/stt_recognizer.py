# Copyright (c) OpenMMLab. All rights reserved.
"""The STT recognizer: tokenizer backbone, attention neck, linear head."""
import copy
import functools
from typing import Dict, Tuple

import torch
from mmaction.models.recognizers import BaseRecognizer
from mmaction.registry import MODELS
from mmaction.utils import ConfigType, OptConfigType, OptSampleList

from ..utils import kernels
from ..utils.frozen_graph import FrozenGraph


@MODELS.register_module()
class STTRecognizer(BaseRecognizer):
    """Spatio-Temporal Transformer recognizer for clips of face frames.

    Data flow (``N`` samples, ``V`` views per sample)::

        inputs (N, V, 3, T, H, W)
          -> (N*V, 3, T, H, W)                      fold the views
          -> backbone  (N*V, C, T, h, w)            e.g. ResNetTokenizer
          -> neck      (N*V, D)                     SpatioTemporalTransformer
          -> cls_head  (N*V, num_classes)           STTHead

    ``mode='predict'`` averages the ``V`` views as the head's
    ``average_clips`` says; ``mode='tensor'`` returns the features of
    ``stage`` (``'backbone'``, ``'neck'`` or ``'head'``: logits
    ``(N*V, num_classes)``). ``test_cfg=dict(max_testing_views=k)`` runs
    the views of a test batch ``k`` at a time; ``test_cfg=dict(
    compile=True)`` runs the backbone and neck of a prediction (eval mode,
    autograd off) as one compiled graph with frozen weights
    (:class:`~mmstt.models.utils.frozen_graph.FrozenGraph`): the first
    batch compiles (smaller batches are padded into its graph), so it pays
    only for long runs.

    Args:
        backbone (dict): Backbone config.
        neck (dict): Neck config.
        cls_head (dict): Head config.
        data_preprocessor (dict, optional): Preprocessor config. Defaults to
            None.
        train_cfg (dict, optional): Training options. Defaults to None.
        test_cfg (dict, optional): Test options (``max_testing_views``,
            ``compile``). Defaults to None.
        init_cfg (dict or list[dict], optional): Initialisation config of
            the whole model. Defaults to None.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 cls_head: ConfigType,
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(
            backbone=backbone,
            cls_head=cls_head,
            neck=neck,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor)
        # BaseRecognizer does not forward init_cfg to BaseModule.
        self.init_cfg = copy.deepcopy(init_cfg)
        self.frozen_graph = FrozenGraph(type(self).embed_clips) \
            if (test_cfg or {}).get('compile') else None

    def extract_feat(self,
                     inputs: torch.Tensor,
                     stage: str = 'neck',
                     data_samples: OptSampleList = None,
                     test_mode: bool = False) -> Tuple[torch.Tensor, Dict]:
        """Extract the features of a stage.

        Args:
            inputs (torch.Tensor): Clips of shape ``(N, V, 3, T, H, W)``.
            stage (str): ``'backbone'`` (feature maps ``(N*V, C, T, h,
                w)``), ``'neck'`` (embeddings ``(N*V, D)``) or ``'head'``
                (logits ``(N*V, num_classes)``). Defaults to ``'neck'``.
            data_samples (list[ActionDataSample], optional): Unused.
                Defaults to None.
            test_mode (bool): Whether called for prediction (honours
                ``test_cfg.max_testing_views``). Defaults to False.

        Returns:
            tuple[torch.Tensor, dict]: The features and keyword arguments
            for the head (empty here).
        """
        if inputs.dim() != 6:
            raise ValueError('STTRecognizer expects inputs of shape '
                             '(N, num_views, C, T, H, W), got '
                             f'{tuple(inputs.shape)}')
        if stage not in ('backbone', 'neck', 'head'):
            raise ValueError(f'unknown stage {stage!r}; use backbone, neck '
                             'or head')
        # (N, V, C, T, H, W) -> (N*V, C, T, H, W)
        inputs = inputs.reshape((-1, ) + inputs.shape[2:])
        views = 0
        embed = self.embed_clips
        if test_mode and self.test_cfg is not None:
            views = self.test_cfg.get('max_testing_views', 0) or 0
            if self.frozen_graph is not None:
                embed = functools.partial(self.frozen_graph, self)
        if stage == 'backbone':
            with kernels.use(self.kernel):
                return self.backbone(inputs), dict()
        if views and inputs.shape[0] > views:
            feats = torch.cat([embed(chunk) for chunk in inputs.split(views)])
        else:
            feats = embed(inputs)
        if stage == 'head':
            return self.cls_head(feats), dict()
        return feats, dict()

    def embed_clips(self, inputs: torch.Tensor) -> torch.Tensor:
        """Backbone and neck: clips ``(M, 3, T, H, W)`` -> ``(M, D)``, under
        :attr:`kernel`."""
        with kernels.use(self.kernel):
            return self.neck(self.backbone(inputs))

    @property
    def kernel(self) -> str:
        """str: The neck's kernel switch, which holds for the whole model
        (``'reference'`` for a neck without one)."""
        return getattr(self.neck, 'kernel', 'reference')

    def _forward(self,
                 inputs: torch.Tensor,
                 stage: str = 'head',
                 **kwargs) -> torch.Tensor:
        """``mode='tensor'``: the features of ``stage`` (default: logits
        ``(N*V, num_classes)``), views not averaged."""
        feats, _ = self.extract_feat(inputs, stage=stage)
        return feats
