# Copyright (c) OpenMMLab. All rights reserved.
"""Classification head of STT: dropout and one linear layer."""
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmaction.evaluation import top_k_accuracy
from mmaction.models.heads import BaseHead
from mmaction.registry import MODELS
from mmaction.utils import ConfigType, SampleList
from mmengine.model.weight_init import normal_init


@MODELS.register_module()
class STTHead(BaseHead):
    """Dropout + ``Linear(in_channels, num_classes)`` on the clip embedding.

    A loss whose class sets ``uses_features = True`` (such as
    :class:`CompactSoftmaxLoss`) also gets the clip embedding (the head's
    input, before dropout) and ``label_smooth_eps`` as ``label_smoothing``;
    other losses are called as by :class:`BaseHead`.

    Args:
        num_classes (int): Number of classes. Defaults to 7.
        in_channels (int): Channels of the clip embedding. Defaults to 512.
        loss_cls (dict): Loss config. ``num_classes`` and ``feat_dim`` of a
            ``CompactSoftmaxLoss`` default to the head's ``num_classes`` and
            ``in_channels``. Defaults to
            ``dict(type='CompactSoftmaxLoss')``.
        dropout_ratio (float): Dropout before the linear layer. Defaults
            to 0.
        init_std (float): Std of the normal initialisation of the linear
            layer. Defaults to 0.01.
        label_smooth_eps (float): Label smoothing. Defaults to 0.
        fp32_classifier (bool): Compute the classifier in float32 under
            autocast, so that rounding does not reorder near-tied class
            scores. Defaults to True.
        topk (int or tuple[int]): Top-k accuracies logged in training.
            Defaults to ``(1, )``.
        average_clips (str, optional): How multi-view scores are averaged
            at test time: ``'prob'``, ``'score'`` or None. Defaults to
            ``'prob'``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 num_classes: int = 7,
                 in_channels: int = 512,
                 loss_cls: ConfigType = dict(type='CompactSoftmaxLoss'),
                 dropout_ratio: float = 0.,
                 init_std: float = 0.01,
                 label_smooth_eps: float = 0.,
                 fp32_classifier: bool = True,
                 topk: Union[int, Tuple[int]] = (1, ),
                 average_clips: Optional[str] = 'prob',
                 init_cfg: Optional[dict] = None) -> None:
        loss_cls = dict(loss_cls)
        if loss_cls.get('type') in ('CompactSoftmaxLoss',
                                    'mmaction.CompactSoftmaxLoss'):
            loss_cls.setdefault('num_classes', num_classes)
            loss_cls.setdefault('feat_dim', in_channels)
        super().__init__(
            num_classes,
            in_channels,
            loss_cls=loss_cls,
            label_smooth_eps=label_smooth_eps,
            topk=topk,
            average_clips=average_clips,
            init_cfg=init_cfg)
        self.init_std = init_std
        self.fp32_classifier = fp32_classifier
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 \
            else None
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.init_weights()

    def init_weights(self) -> None:
        """Normal(0, ``init_std``) weights and zero bias for ``fc_cls``."""
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Classify clip embeddings.

        Args:
            x (torch.Tensor): Clip embeddings of shape ``(N, in_channels)``
                (any trailing singleton dimensions are flattened).
            **kwargs: Ignored.

        Returns:
            torch.Tensor: Class scores of shape ``(N, num_classes)``.
        """
        x = x.flatten(1)
        if self.dropout is not None:
            x = self.dropout(x)
        device = x.device.type
        if self.fp32_classifier and torch.is_autocast_enabled(device):
            with torch.autocast(device, enabled=False):
                return self.fc_cls(x.float())
        return self.fc_cls(x)

    @property
    def loss_uses_features(self) -> bool:
        """bool: Whether the loss takes the clip embedding."""
        return bool(getattr(self.loss_cls, 'uses_features', False))

    def loss(self, feats: torch.Tensor, data_samples: SampleList,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Losses of clip embeddings ``(N, in_channels)``: ``loss_ce`` and
        ``loss_compact`` (or ``loss_cls`` of other losses), ``top{k}_acc``.
        """
        cls_scores = self(feats)
        return self.loss_by_feat(cls_scores, data_samples, feats=feats)

    def loss_by_feat(
            self,
            cls_scores: torch.Tensor,
            data_samples: SampleList,
            feats: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Compute the losses from class scores (and clip embeddings).

        Args:
            cls_scores (torch.Tensor): Scores of shape ``(N, num_classes)``.
            data_samples (list[ActionDataSample]): Samples with
                ``gt_label``.
            feats (torch.Tensor, optional): Clip embeddings of shape
                ``(N, in_channels)``. Defaults to None.

        Returns:
            dict[str, torch.Tensor]: Loss terms and ``top{k}_acc``.
        """
        if not self.loss_uses_features:
            return super().loss_by_feat(cls_scores, data_samples)
        labels = torch.stack([s.gt_label
                              for s in data_samples]).to(cls_scores.device)
        # (N, 1) or (N,) class indices -> (N,); (N, K) soft labels stay.
        if labels.dim() == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        losses = dict()
        if labels.dim() == 1:
            accs = top_k_accuracy(cls_scores.detach().float().cpu().numpy(),
                                  labels.detach().cpu().numpy(), self.topk)
            for k, acc in zip(self.topk, accs):
                losses[f'top{k}_acc'] = torch.tensor(
                    acc, device=cls_scores.device)
        smoothing = self.label_smooth_eps if self.label_smooth_eps else None
        terms = self.loss_cls(
            cls_scores, labels, feats=feats, label_smoothing=smoothing)
        losses.update(terms)
        return losses
