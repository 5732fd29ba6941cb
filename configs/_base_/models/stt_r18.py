# STT (Ma et al., 2022) with the paper/port settings of the spec
# (docs/model_zoo.md): ResNet-18 cut after layer3 -> 7x7x256 tokens per
# 112x112 frame, 1x1 projection to 512, 4 factorised spatial->temporal
# blocks, 8 heads, MLP 4x, drop path 0.1, class-token clip embedding,
# linear 512 -> 7 with the compact softmax loss (lambda = 0.01).
#
# Pretrained face ResNet-18 (MS-Celeb-1M, torchvision key layout, also
# wrapped as {'state_dict': ...} or prefixed 'module.'): set
#   model.backbone.init_cfg = dict(type='Pretrained', checkpoint=PATH)
# e.g. --cfg-options model.backbone.init_cfg.type=Pretrained \
#   model.backbone.init_cfg.checkpoint=PATH. With checkpoint=None (the
# default here) the model trains from scratch.
num_frames = 16
num_classes = 7
embed_dims = 512

model = dict(
    type='STTRecognizer',
    backbone=dict(
        type='ResNetTokenizer',
        depth=18,
        out_stage=3,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=None)),
    neck=dict(
        type='SpatioTemporalTransformer',
        in_channels=256,
        embed_dims=embed_dims,
        num_frames=num_frames,
        grid_size=(7, 7),
        depth=4,
        num_heads=8,
        mlp_ratio=4.,
        qkv_bias=True,
        drop_rate=0.,
        attn_drop_rate=0.,
        drop_path_rate=0.1,
        attn_order=('spatial', 'temporal'),
        output='cls',
        use_temporal_attn=True,
        use_temporal_embed=True,
        prune_last_block=True,
        # 'auto': the measured CPU speed rules of mmstt/models/utils/
        # kernels.py (same result up to rounding); 'reference': F.linear
        # and SDPA everywhere.
        kernel='auto'),
    cls_head=dict(
        type='STTHead',
        num_classes=num_classes,
        in_channels=embed_dims,
        dropout_ratio=0.,
        loss_cls=dict(
            type='CompactSoftmaxLoss',
            num_classes=num_classes,
            feat_dim=embed_dims,
            loss_lambda=0.01,
            eps=1e-6,
            variant='ratio'),
        label_smooth_eps=0.,
        fp32_classifier=True,  # logits in fp32 under autocast
        topk=(1, ),
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        format_shape='NCTHW'))
