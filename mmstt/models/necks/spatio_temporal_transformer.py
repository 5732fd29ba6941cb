# Copyright (c) OpenMMLab. All rights reserved.
"""The factorised spatio-temporal attention neck of STT."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_

from .pos_embed import resize_spatial_embed, resize_temporal_embed
from .stt_block import STTBlock
from .token_linear import TokenLinear

OUTPUT_MODES = ('mean', 'cls')


def chunk_budget(tokens: int, x: torch.Tensor) -> int:
    """Tokens per chunk for ``x``, given a budget in float32 tokens.

    Args:
        tokens (int): Budget counted in float32 tokens.
        x (torch.Tensor): Neck input; its dtype, or the CPU autocast dtype
            when autocast is on, is the compute type.

    Returns:
        int: ``tokens`` scaled by ``4 / itemsize`` of the compute type, so
        that a chunk takes the same bytes in every precision.
    """
    dtype = torch.get_autocast_dtype('cpu') \
        if torch.is_autocast_enabled('cpu') else x.dtype
    itemsize = torch.empty((), dtype=dtype).element_size()
    return tokens * 4 // itemsize


@MODELS.register_module()
class SpatioTemporalTransformer(BaseModule):
    """Spatio-Temporal Transformer neck: CNN feature maps to a clip vector.

    Shapes, step by step (``B`` clips, ``T`` frames, ``h x w`` grid,
    ``S = h*w`` tokens per frame, ``C = embed_dims``):

    1. input feature maps ``(B, C_in, T, h, w)``;
    2. 1x1 projection (a linear layer on channels) to tokens
       ``(B, T, S, C)``;
    3. plus the spatial embedding ``(1, 1, S, C)`` (shared by frames) and
       the temporal embedding ``(1, T, 1, C)`` (shared by positions), both
       truncated-normal initialised and resized (bicubic / linear) when the
       run-time grid or ``T`` differs from ``grid_size`` / ``num_frames``;
    4. ``output='cls'`` only: a learnable class token is prepended to
       *every frame* as an extra spatial position, giving ``(B, T, S+1, C)``
       (it gets the temporal embedding but no spatial embedding);
    5. ``depth`` x :class:`STTBlock`: spatial attention (sequence ``S``
       [+1], batch ``B*T``), temporal attention (sequence ``T``, batch
       ``B*S`` [+B]) and an MLP, each pre-norm with a residual;
    6. pooling to ``(B, C)``: ``'mean'`` averages all ``T*S`` tokens;
       ``'cls'`` averages the ``T`` per-frame copies of the class token;
    7. final LayerNorm, output ``(B, C)``.

    Speed (CPU): the tokens keep one contiguous ``(B, T, S, C)`` layout and
    both attention axes are views of one fused q/k/v projection (see
    :class:`FactorizedAttention`); the last block skips work the pooling
    does not read (``prune_last_block``); clips go through in chunks
    (``chunk_tokens``); the linear layers and the attention use the kernel
    measured fastest for the device, precision and mode (``linear_impl``,
    ``attn_impl``: on CPU, oneDNN 1x1 convolutions for float32 and
    bfloat16 inference, batched matmuls for bfloat16 attention). None of
    these change the output beyond rounding.

    How the class token takes part in factorised attention: each frame
    carries its own copy of it. In spatial attention the copy attends to and
    is attended by the tokens of its frame (it summarises that frame); in
    temporal attention the ``T`` copies attend to each other like the tokens
    of any other position (the frame summaries exchange information across
    time). After the last block the copies are averaged over frames. Unlike
    TimeSformer, which averages the class token after every spatial
    attention and so needs a cat/split of the token tensor in every block,
    the token tensor here keeps one layout from the first block to the last.

    Args:
        in_channels (int): Channels of the input feature maps. Defaults to
            256.
        embed_dims (int): Token channels ``C``. Defaults to 512.
        num_frames (int): ``T`` the temporal embedding is made for.
            Defaults to 16.
        grid_size (tuple[int, int]): ``(h, w)`` the spatial embedding is
            made for. Defaults to ``(7, 7)``.
        depth (int): Number of blocks. Defaults to 4.
        num_heads (int): Attention heads. Defaults to 8.
        mlp_ratio (float): MLP hidden width over ``C``. Defaults to 4.
        qkv_bias (bool): Bias in the q/k/v projections. Defaults to True.
        drop_rate (float): Dropout after the embeddings, the attention
            projections and in the MLP. Defaults to 0.
        attn_drop_rate (float): Dropout on attention weights. Defaults to 0.
        drop_path_rate (float): Stochastic depth of the last block; it rises
            linearly from 0 in the first block. Defaults to 0.1.
        attn_order (Sequence[str]): Order of the attention sub-layers in a
            block. Defaults to ``('spatial', 'temporal')``.
        output (str): ``'mean'`` (mean of all tokens) or ``'cls'`` (class
            token). Defaults to ``'mean'``.
        use_temporal_attn (bool): Build the temporal attention sub-layers.
            Defaults to True.
        use_temporal_embed (bool): Add the temporal embedding. Defaults to
            True.
        use_spatial_embed (bool): Add the spatial embedding. Defaults to
            True.
        gelu_approximate (str): GELU variant of the MLP, ``'none'`` or
            ``'tanh'``. Defaults to ``'none'``.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.
        prune_last_block (bool): Let the last block skip computations the
            pooling never reads (see :meth:`STTBlock.forward`, ``reduce``):
            with ``output='cls'`` only the class tokens go through the last
            block after its spatial attention's class-token queries; with
            ``output='mean'`` its MLP output projection runs on the pooled
            hidden vector. The output is unchanged. Defaults to True.
        chunk_tokens (int): On CPU, clips are pushed through the neck in
            chunks of ``max(1, chunk_tokens // (T * S))`` clips (each chunk
            runs all blocks, then the pooled vectors are concatenated). The
            result is identical; the smaller intermediate tensors are
            reused by the memory allocator instead of being freshly mapped
            (and page-faulted) for every layer, which is measurably faster
            on CPU. The budget counts float32 tokens: when the neck
            computes in a 2-byte type (bfloat16/float16 input or autocast)
            a chunk holds twice the tokens, i.e. the same bytes (measured
            ~6 % faster for bf16 inference than keeping the token count).
            0 disables chunking; on other devices the whole batch is one
            chunk. Defaults to 2048 (two 16x7x7 clips per chunk in float32,
            five in bfloat16).
        attn_impl (str): Attention kernel: ``'sdpa'``
            (``F.scaled_dot_product_attention``), ``'matmul'`` (two batched
            matmuls) or ``'auto'``: SDPA except for bfloat16/float16 on
            CPU, where the matmuls measured faster (see
            :func:`~.factorized_attention.attention`). Same result up to
            rounding. Defaults to ``'auto'``.
        linear_impl (str): Kernel of every linear layer: ``'linear'``
            (``F.linear``), ``'conv'`` (a 1x1 convolution over a
            channels-last view, oneDNN on CPU) or ``'auto'``: the
            convolution on CPU for float32 and for low-precision inference,
            ``F.linear`` otherwise (see
            :func:`~.token_linear.prefer_conv`). Same parameters and
            result up to rounding. Defaults to ``'auto'``.
        init_cfg (dict or list[dict], optional): mmengine initialisation
            config; when None the default truncated-normal scheme is used.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 256,
                 embed_dims: int = 512,
                 num_frames: int = 16,
                 grid_size: Tuple[int, int] = (7, 7),
                 depth: int = 4,
                 num_heads: int = 8,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 attn_order: Sequence[str] = ('spatial', 'temporal'),
                 output: str = 'mean',
                 use_temporal_attn: bool = True,
                 use_temporal_embed: bool = True,
                 use_spatial_embed: bool = True,
                 gelu_approximate: str = 'none',
                 norm_eps: float = 1e-6,
                 prune_last_block: bool = True,
                 chunk_tokens: int = 2048,
                 attn_impl: str = 'auto',
                 linear_impl: str = 'auto',
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if output not in OUTPUT_MODES:
            raise ValueError(
                f'output must be one of {OUTPUT_MODES}, got {output!r}')
        if depth < 1:
            raise ValueError(f'depth must be >= 1, got {depth}')
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.num_frames = num_frames
        self.grid_size = tuple(grid_size)
        self.depth = depth
        self.output = output
        self.use_temporal_attn = use_temporal_attn
        self.use_temporal_embed = use_temporal_embed
        self.use_spatial_embed = use_spatial_embed
        self.prune_last_block = prune_last_block
        self.chunk_tokens = chunk_tokens
        attn_order = tuple(attn_order)
        if not use_temporal_attn:
            attn_order = tuple(a for a in attn_order if a != 'temporal')
        self.attn_order = attn_order

        self.token_proj = TokenLinear(
            in_channels, embed_dims, impl=linear_impl)
        num_tokens = self.grid_size[0] * self.grid_size[1]
        self.pos_embed_spatial = nn.Parameter(
            torch.zeros(1, 1, num_tokens,
                        embed_dims)) if use_spatial_embed else None
        self.pos_embed_temporal = nn.Parameter(
            torch.zeros(1, num_frames, 1,
                        embed_dims)) if use_temporal_embed else None
        self.cls_token = nn.Parameter(torch.zeros(
            1, 1, 1, embed_dims)) if output == 'cls' else None
        self.pos_drop = nn.Dropout(drop_rate) if drop_rate > 0 else None

        dpr = [drop_path_rate * i / max(depth - 1, 1)
               for i in range(depth)] if depth > 1 else [drop_path_rate]
        self.blocks = nn.ModuleList([
            STTBlock(
                embed_dims,
                num_heads,
                mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias,
                drop=drop_rate,
                attn_drop=attn_drop_rate,
                drop_path=dpr[i],
                attn_order=attn_order,
                gelu_approximate=gelu_approximate,
                norm_eps=norm_eps,
                attn_impl=attn_impl,
                linear_impl=linear_impl) for i in range(depth)
        ])
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self._default_init()

    def _default_init(self) -> None:
        """Truncated-normal (std 0.02) weights and embeddings, zero biases."""
        for param in (self.pos_embed_spatial, self.pos_embed_temporal,
                      self.cls_token):
            if param is not None:
                trunc_normal_(param, std=.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def init_weights(self) -> None:
        """Initialise weights: ``init_cfg`` if given, else the default."""
        if self.init_cfg:
            super().init_weights()
        else:
            self._default_init()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Turn feature maps into the token grid the blocks work on.

        Args:
            x (torch.Tensor): Feature maps of shape ``(B, C_in, T, h, w)``.

        Returns:
            torch.Tensor: Tokens of shape ``(B, T, h*w, C)``, or
            ``(B, T, 1 + h*w, C)`` with the class token first when
            ``output='cls'``.
        """
        b, _, t, h, w = x.shape
        # (B, C_in, T, h, w) -> (B, T, h, w, C_in) -> (B, T, h, w, C)
        tokens = self.token_proj(x.permute(0, 2, 3, 4, 1))
        tokens = tokens.view(b, t, h * w, self.embed_dims)
        pos = None
        if self.pos_embed_spatial is not None:
            # (1, 1, h*w, C)
            pos = resize_spatial_embed(self.pos_embed_spatial, self.grid_size,
                                       (h, w))
        pos_t = None
        if self.pos_embed_temporal is not None:
            # (1, T, 1, C)
            pos_t = resize_temporal_embed(self.pos_embed_temporal, t)
            pos = pos_t if pos is None else pos + pos_t
        if pos is not None:
            # The linear layer does not keep its output for backward, so
            # the in-place add is safe under autograd.
            tokens = tokens.add_(pos.to(tokens.dtype))
        if self.cls_token is not None:
            cls = self.cls_token if pos_t is None else self.cls_token + pos_t
            # (B, T, 1, C) ++ (B, T, h*w, C) -> (B, T, 1 + h*w, C)
            cls = cls.to(tokens.dtype).expand(b, t, 1, self.embed_dims)
            tokens = torch.cat([cls, tokens], dim=2)
        if self.pos_drop is not None:
            tokens = self.pos_drop(tokens)
        return tokens

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Pool the token grid into one vector per clip and normalise it.

        Args:
            x (torch.Tensor): Tokens of shape ``(B, T, S, C)`` (class token
                at position 0 when ``output='cls'``), or already pooled
                ``(B, C)``.

        Returns:
            torch.Tensor: Clip embedding of shape ``(B, C)``, in the dtype
            of the norm's parameters: under autocast the pooled vectors are
            normalised and returned in float32 (``B x C`` values, no
            measurable cost; rounding the embedding to bfloat16 was a
            tenth of the neck's bf16 error on the benchmark clips).
        """
        dtype = x.dtype if self.norm.weight is None else \
            self.norm.weight.dtype
        if x.dim() == 2:
            x = x.to(dtype)
        elif self.output == 'cls':
            # (B, T, C) -> (B, C)
            x = x[:, :, 0].mean(dim=1, dtype=dtype)
        else:
            x = x.mean(dim=(1, 2), dtype=dtype)
        return self.norm(x)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Compute the clip embedding.

        Args:
            x (torch.Tensor): Feature maps of shape ``(B, C_in, T, h, w)``.
            **kwargs: Ignored (for example ``data_samples``).

        Returns:
            torch.Tensor: Clip embedding of shape ``(B, embed_dims)``.
        """
        if x.dim() != 5:
            raise ValueError('SpatioTemporalTransformer expects feature maps '
                             f'of shape (B, C, T, h, w), got {tuple(x.shape)}')
        b, _, t, h, w = x.shape
        clips = b
        if self.chunk_tokens > 0 and x.device.type == 'cpu':
            clips = max(1, chunk_budget(self.chunk_tokens, x) // (t * h * w))
        if clips >= b:
            return self._forward_chunk(x)
        return torch.cat(
            [self._forward_chunk(chunk) for chunk in x.split(clips)])

    def _forward_chunk(self, x: torch.Tensor) -> torch.Tensor:
        """Embed, run every block and pool one chunk of clips.

        Args:
            x (torch.Tensor): Feature maps of shape ``(b, C_in, T, h, w)``.

        Returns:
            torch.Tensor: Clip embeddings of shape ``(b, embed_dims)``.
        """
        x = self.embed(x)
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            reduce = self.output if (self.prune_last_block
                                     and i == last) else None
            # The token tensor is owned here: blocks may update it in place
            # when no gradient is needed.
            x = block(x, inplace=True, reduce=reduce)
        return self.pool(x)
