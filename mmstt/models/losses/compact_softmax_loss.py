# Copyright (c) OpenMMLab. All rights reserved.
"""Softmax cross-entropy plus a feature-compactness term."""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.models.losses.base import BaseWeightedLoss
from mmaction.registry import MODELS
from mmengine import dist

VARIANTS = ('ratio', 'center')


@MODELS.register_module()
class CompactSoftmaxLoss(BaseWeightedLoss):
    r"""Compact softmax cross-entropy (this project's formalisation).

    The STT paper adds to softmax cross-entropy a term that "encourages the
    learned features to have the minimum intra-class distance and the
    maximum inter-class distance"; its exact equation could not be verified
    from the sources available to this project, so mmstt defines it (in the
    spirit of center loss with an inter-class term) as

    .. math::

        L = L_{CE}(W f + b, y) + \lambda L_{compact}, \qquad
        L_{compact} = \frac{\frac{1}{N}\sum_i \lVert f_i - c_{y_i}\rVert^2}
        {\frac{1}{K(K-1)}\sum_{j \ne k} \lVert c_j - c_k\rVert^2
        + \epsilon}

    with ``f_i`` the clip embedding of sample ``i``, ``c_k`` the centre of
    class ``k`` and the denominator summed over ordered pairs. The ratio is
    scale-free: lowering it shrinks intra-class and grows inter-class
    distances together.

    ``variant='ratio'`` trains the centres (an ``nn.Parameter``) with the
    network. ``variant='center'`` is classic center loss (Wen et al., ECCV
    2016): the numerator only, centres a buffer updated by
    ``c_k <- c_k - alpha * sum_{i: y_i = k} (c_k - f_i) / (1 + n_k)`` from
    sums and counts all-reduced over ranks (centres broadcast from rank 0
    first), so every rank holds the same centres.

    Returns ``loss_ce`` and ``loss_compact`` (times ``loss_lambda``), both
    times ``loss_weight``; ``loss_lambda=0`` is plain cross-entropy. Label
    smoothing and class weights act on the cross-entropy only; for soft
    ``(N, K)`` targets the argmax picks the centre.

    Args:
        num_classes (int): Number of classes ``K``. Defaults to 7.
        feat_dim (int): Dimension of the clip embedding. Defaults to 512.
        loss_lambda (float): Weight ``lambda`` of the compact term.
            Defaults to 0.01.
        eps (float): ``epsilon`` of the denominator. Defaults to 1e-6.
        variant (str): ``'ratio'`` or ``'center'``. Defaults to ``'ratio'``.
        alpha (float): Centre update rate of the ``'center'`` variant.
            Defaults to 0.5.
        label_smoothing (float): Label smoothing of the cross-entropy.
            Defaults to 0.
        class_weight (list[float], optional): Per-class weights of the
            cross-entropy. Defaults to None.
        center_init_std (float): Std of the normal initialisation of the
            centres. Defaults to 1.
        loss_weight (float): Factor on both returned terms. Defaults to 1.
    """

    #: Tells :class:`STTHead` to pass the clip embedding as ``feats``.
    uses_features = True

    def __init__(self,
                 num_classes: int = 7,
                 feat_dim: int = 512,
                 loss_lambda: float = 0.01,
                 eps: float = 1e-6,
                 variant: str = 'ratio',
                 alpha: float = 0.5,
                 label_smoothing: float = 0.,
                 class_weight: Optional[List[float]] = None,
                 center_init_std: float = 1.,
                 loss_weight: float = 1.) -> None:
        super().__init__(loss_weight=loss_weight)
        if variant not in VARIANTS:
            raise ValueError(
                f'variant must be one of {VARIANTS}, got {variant!r}')
        if num_classes < 2:
            raise ValueError(f'num_classes must be >= 2, got {num_classes}')
        self.num_classes = num_classes
        self.feat_dim = feat_dim
        self.loss_lambda = loss_lambda
        self.eps = eps
        self.variant = variant
        self.alpha = alpha
        self.label_smoothing = label_smoothing
        centers = torch.randn(num_classes, feat_dim) * center_init_std
        if variant == 'ratio':
            self.centers = nn.Parameter(centers)
        else:
            self.register_buffer('centers', centers)
            # Set once the centres have been broadcast from rank 0.
            self.register_buffer('synced', torch.zeros((), dtype=torch.bool))
        if class_weight is not None:
            if len(class_weight) != num_classes:
                raise ValueError(f'class_weight has {len(class_weight)} '
                                 f'entries, expected {num_classes}')
            self.register_buffer('class_weight',
                                 torch.tensor(class_weight, dtype=torch.float))
        else:
            self.class_weight = None

    def compactness(self, feats: torch.Tensor,
                    labels: torch.Tensor) -> torch.Tensor:
        """The compact term (before ``loss_lambda``).

        Args:
            feats (torch.Tensor): Clip embeddings of shape ``(N, D)``.
            labels (torch.Tensor): Class indices of shape ``(N,)``.

        Returns:
            torch.Tensor: Scalar ``L_compact`` of the chosen variant.
        """
        # At least float32 (bfloat16 features under autocast are upcast).
        dtype = torch.promote_types(feats.dtype, torch.float32)
        centers = self.centers.to(dtype)
        if self.variant == 'center':
            centers = centers.detach()
        # (N, D): distance of every sample to its own class centre.
        intra = (feats.to(dtype) - centers[labels]).pow(2).sum(dim=1).mean()
        if self.variant == 'center':
            return intra
        k = self.num_classes
        # (K, K, D) pairwise differences; the diagonal is zero.
        pair = (centers.unsqueeze(0) - centers.unsqueeze(1)).pow(2).sum(-1)
        inter = pair.sum() / (k * (k - 1))
        return intra / (inter + self.eps)

    @torch.no_grad()
    def update_centers(self, feats: torch.Tensor,
                       labels: torch.Tensor) -> None:
        """Moving-average centre update of ``variant='center'`` (the same
        on every rank: sums and counts are all-reduced).

        Args:
            feats (torch.Tensor): Clip embeddings of shape ``(N, D)``.
            labels (torch.Tensor): Class indices of shape ``(N,)``.
        """
        if not bool(self.synced):
            dist.broadcast(self.centers, src=0)
            self.synced.fill_(True)
        centers = self.centers
        sums = centers.new_zeros(self.num_classes, self.feat_dim)
        sums.index_add_(0, labels, feats.detach().to(centers.dtype))
        counts = centers.new_zeros(self.num_classes)
        counts.index_add_(0, labels, centers.new_ones(labels.shape[0]))
        # One all-reduce for sums and counts: (K, D + 1).
        packed = torch.cat([sums, counts.unsqueeze(1)], dim=1)
        dist.all_reduce(packed, op='sum')
        sums, counts = packed[:, :-1], packed[:, -1:]
        delta = (counts * centers - sums) / (1. + counts)
        centers.sub_(self.alpha * delta)

    def _forward(self,
                 cls_score: torch.Tensor,
                 label: torch.Tensor,
                 feats: Optional[torch.Tensor] = None,
                 label_smoothing: Optional[float] = None,
                 **kwargs) -> Dict[str, torch.Tensor]:
        """Compute both terms.

        Args:
            cls_score (torch.Tensor): Logits of shape ``(N, K)``.
            label (torch.Tensor): Class indices ``(N,)`` or soft targets
                ``(N, K)``.
            feats (torch.Tensor, optional): Clip embeddings ``(N, D)``;
                without them only the cross-entropy is computed (and
                ``loss_compact`` is zero). Defaults to None.
            label_smoothing (float, optional): Overrides the configured
                label smoothing. Defaults to None.
            **kwargs: Ignored.

        Returns:
            dict[str, torch.Tensor]: ``loss_ce`` and ``loss_compact``.
        """
        smoothing = self.label_smoothing if label_smoothing is None \
            else label_smoothing
        loss_ce = F.cross_entropy(
            cls_score,
            label,
            weight=self.class_weight,
            label_smoothing=smoothing)
        if feats is None:
            return dict(loss_ce=loss_ce, loss_compact=cls_score.new_zeros(()))
        hard = label.argmax(dim=1) if label.dim() == 2 else label
        if feats.dim() != 2 or feats.shape[0] != hard.shape[0]:
            raise ValueError('feats must have shape (N, D) matching the '
                             f'labels, got {tuple(feats.shape)}')
        compact = self.compactness(feats, hard)
        if self.variant == 'center' and self.training:
            self.update_centers(feats, hard)
        return dict(loss_ce=loss_ce, loss_compact=self.loss_lambda * compact)
