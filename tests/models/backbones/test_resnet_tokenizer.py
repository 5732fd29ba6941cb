# Copyright (c) OpenMMLab. All rights reserved.
import logging
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from mmengine.logging import MMLogger
from torch.nn.modules.batchnorm import _BatchNorm

import mmstt  # noqa: F401
from mmstt.models.backbones import ResNetTokenizer

PAPER_CFG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))),
    'configs', '_base_', 'models', 'stt_r18.py')


def torchvision_resnet18_state(seed: int = 0) -> OrderedDict:
    """Random tensors under torchvision's ResNet-18 keys and shapes.

    Written from torchvision's layout (stem ``conv1``/``bn1``; ``layerS.B``
    blocks with ``conv1, bn1, conv2, bn2`` and ``downsample.0/.1`` in the
    first block of layers 2-4; ``fc``), independently of mmstt.
    """
    g = torch.Generator().manual_seed(seed)
    state = OrderedDict()

    def bn(prefix, c):
        state[f'{prefix}.weight'] = torch.rand(c, generator=g) + 0.5
        state[f'{prefix}.bias'] = torch.randn(c, generator=g)
        state[f'{prefix}.running_mean'] = torch.randn(c, generator=g)
        state[f'{prefix}.running_var'] = torch.rand(c, generator=g) + 0.5
        state[f'{prefix}.num_batches_tracked'] = torch.tensor(7)

    state['conv1.weight'] = torch.randn(64, 3, 7, 7, generator=g)
    bn('bn1', 64)
    in_c = 64
    for stage, out_c in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            p = f'layer{stage}.{block}'
            cin = in_c if block == 0 else out_c
            state[f'{p}.conv1.weight'] = torch.randn(
                out_c, cin, 3, 3, generator=g)
            bn(f'{p}.bn1', out_c)
            state[f'{p}.conv2.weight'] = torch.randn(
                out_c, out_c, 3, 3, generator=g)
            bn(f'{p}.bn2', out_c)
            if block == 0 and stage > 1:
                state[f'{p}.downsample.0.weight'] = torch.randn(
                    out_c, cin, 1, 1, generator=g)
                bn(f'{p}.downsample.1', out_c)
        in_c = out_c
    state['fc.weight'] = torch.randn(1000, 512, generator=g)
    state['fc.bias'] = torch.randn(1000, generator=g)
    return state


class _Capture(logging.Handler):

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelno, record.getMessage()))


def _init_and_capture(model):
    logger = MMLogger.get_current_instance()
    handler = _Capture()
    logger.addHandler(handler)
    try:
        model.init_weights()
    finally:
        logger.removeHandler(handler)
    return handler.records


def test_default_output_shape_and_stages():
    model = ResNetTokenizer()
    assert not hasattr(model, 'layer4')
    assert model.out_channels == 256
    x = torch.randn(1, 3, 2, 112, 112)
    with torch.no_grad():
        out = model.eval()(x)
    assert out.shape == (1, 256, 2, 7, 7)


@pytest.mark.parametrize('out_stage,channels,size', [(1, 64, 8), (2, 128, 4),
                                                     (4, 512, 1)])
def test_out_stage(out_stage, channels, size):
    model = ResNetTokenizer(out_stage=out_stage)
    for i in range(1, 5):
        assert hasattr(model, f'layer{i}') == (i <= out_stage)
    with torch.no_grad():
        out = model.eval()(torch.randn(2, 3, 3, 32, 32))
    assert out.shape == (2, channels, 3, size, size)


def test_frames_are_processed_independently():
    model = ResNetTokenizer(out_stage=2).eval()
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        clip = model(x)
        single = model(x[:, :, 2:3])
    assert torch.allclose(clip[:, :, 2:3], single, atol=1e-5)


def test_depth34_and_width():
    model = ResNetTokenizer(depth=34, out_stage=2, base_channels=16)
    assert len(model.layer2) == 4
    with torch.no_grad():
        out = model.eval()(torch.randn(1, 3, 2, 32, 32))
    assert out.shape == (1, 32, 2, 4, 4)
    with pytest.raises(KeyError):
        ResNetTokenizer(depth=50)
    with pytest.raises(ValueError):
        ResNetTokenizer(out_stage=5)
    with pytest.raises(ValueError, match=r'\(B, C, T, H, W\)'):
        model(torch.randn(1, 3, 32, 32))


def test_auto_kernels_give_the_reference_output():
    """Channels-last frames under 'auto': same numbers, and the tokens
    (B, T, h, w, C) the neck reads are contiguous."""
    from mmstt.models.utils import kernels
    model = ResNetTokenizer(out_stage=2, base_channels=16).eval()
    x = torch.randn(2, 3, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        with kernels.use('auto'):
            fast = model(x)
    assert torch.allclose(fast, ref, atol=1e-4)
    assert fast.permute(0, 2, 3, 4, 1).is_contiguous()


def test_auto_kernels_chunk_frames_in_eval_mode_only(monkeypatch):
    """Rule 4 in the backbone: in eval mode the frames go through the
    trunk in chunks of the byte budget, with the unchunked output; in
    training mode BN needs every frame's statistics, so they go at once."""
    from mmstt.models.utils import kernels
    model = ResNetTokenizer(out_stage=2, base_channels=16)
    x = torch.randn(2, 3, 5, 32, 32)  # 10 frames
    # the stem's output: 16 x 16 x 16 float32 elements per frame
    monkeypatch.setattr(kernels, 'CHUNK_BYTES', 3 * 16 * 16 * 16 * 4)
    sizes = []
    trunk = model.trunk

    def spy(frames):
        sizes.append(len(frames))
        return trunk(frames)

    monkeypatch.setattr(model, 'trunk', spy)
    with torch.no_grad():
        ref = model.eval()(x)
        assert sizes == [10]
        with kernels.use('auto'):
            fast = model(x)
    assert sizes == [10, 3, 3, 3, 1]
    assert torch.allclose(fast, ref, atol=1e-5)

    twin = ResNetTokenizer(out_stage=2, base_channels=16)
    twin.load_state_dict(model.state_dict())
    sizes.clear()
    with kernels.use('auto'):
        out = model.train()(x)
    assert sizes == [10]
    assert torch.allclose(out, twin.train()(x), atol=1e-5)
    assert torch.allclose(model.bn1.running_mean, twin.bn1.running_mean)


def test_frozen_stages_and_norm_eval():
    model = ResNetTokenizer(out_stage=3, frozen_stages=1)
    model.train()
    for name, param in model.named_parameters():
        frozen = name.startswith(('conv1', 'bn1', 'layer1'))
        assert param.requires_grad != frozen, name
    assert not model.bn1.training and not model.layer1[0].bn1.training
    assert model.layer2[0].bn1.training
    model = ResNetTokenizer(out_stage=2, norm_eval=True).train()
    assert all(not m.training for m in model.modules()
               if isinstance(m, _BatchNorm))
    assert model.training
    with pytest.raises(ValueError):
        ResNetTokenizer(out_stage=2, frozen_stages=3)


def test_frozen_stem_keeps_running_stats():
    model = ResNetTokenizer(out_stage=1, frozen_stages=0).train()
    before = model.bn1.running_mean.clone()
    model(torch.randn(2, 3, 2, 32, 32))
    assert torch.equal(before, model.bn1.running_mean)
    assert not torch.equal(model.layer1[0].bn1.running_mean, torch.zeros(64))


def test_load_torchvision_layout_wrapped_and_prefixed(tmp_path):
    state = torchvision_resnet18_state()
    wrapped = {
        'state_dict': OrderedDict(
            (f'module.{k}', v) for k, v in state.items()),
        'epoch': 3
    }
    path = tmp_path / 'Resnet18_MS1M_pytorch.pth.tar'
    torch.save(wrapped, path)
    model = ResNetTokenizer(
        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    records = _init_and_capture(model)
    own = model.state_dict()
    for key, value in own.items():
        assert torch.equal(value, state[key]), key
    messages = '\n'.join(m for _, m in records)
    assert 'ignored 32 keys' in messages and 'fc.* (2)' in messages
    assert 'layer4' in messages
    # Nothing is missing, so nothing is logged as a warning.
    assert not [m for lvl, m in records if lvl >= logging.WARNING]
    with torch.no_grad():
        out = model.eval()(torch.randn(1, 3, 2, 112, 112))
    assert out.shape == (1, 256, 2, 7, 7)


def test_load_bare_torchvision_state_dict(tmp_path):
    state = torchvision_resnet18_state(seed=1)
    path = tmp_path / 'resnet18.pth'
    torch.save(state, path)
    model = ResNetTokenizer(out_stage=2)
    report = model.load_pretrained(str(path))
    assert not report['missing'] and not report['mismatched']
    assert 'layer3.0.conv1.weight' in report['ignored']
    assert torch.equal(model.layer2[1].conv2.weight,
                       state['layer2.1.conv2.weight'])


def test_load_mmengine_recognizer_checkpoint(tmp_path):
    """A Runner checkpoint: backbone. prefix, meta and a message hub."""
    from mmengine.logging import HistoryBuffer
    state = torchvision_resnet18_state(seed=2)
    model_state = OrderedDict()
    for key, value in state.items():
        if not key.startswith(('fc.', 'layer4.')):
            model_state[f'backbone.{key}'] = value
    model_state['neck.token_proj.weight'] = torch.randn(512, 256)
    model_state['cls_head.fc_cls.weight'] = torch.randn(7, 512)
    buffer = HistoryBuffer()
    buffer.update(0.5)
    ckpt = dict(
        meta=dict(epoch=2, iter=10),
        state_dict=model_state,
        message_hub=dict(log_scalars={'train/loss': buffer}))
    path = tmp_path / 'epoch_2.pth'
    torch.save(ckpt, path)
    model = ResNetTokenizer(
        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    # An explicit prefix works too.
    other = ResNetTokenizer()
    report = other.load_pretrained(str(path), prefix='backbone.')
    assert len(report['loaded']) == len(other.state_dict())


def test_missing_and_mismatched_keys_are_logged(tmp_path):
    state = torchvision_resnet18_state(seed=3)
    del state['layer3.1.conv2.weight']
    state['layer3.1.conv1.weight'] = torch.randn(256, 256, 1, 1)
    path = tmp_path / 'partial.pth'
    torch.save({'state_dict': state}, path)
    model = ResNetTokenizer(
        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    before = model.layer3[1].conv2.weight.clone()
    records = _init_and_capture(model)
    warnings = '\n'.join(m for lvl, m in records if lvl >= logging.WARNING)
    assert 'layer3.1.conv2.weight' in warnings
    assert 'layer3.1.conv1.weight' in warnings and 'shape' in warnings
    # The missing tensor keeps an initial value; the rest arrived.
    assert model.layer3[1].conv2.weight.shape == before.shape
    assert torch.equal(model.layer2[0].conv1.weight,
                       state['layer2.0.conv1.weight'])


def test_checkpoint_without_backbone_weights_is_an_error(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': {'encoder.weight': torch.zeros(3)}}, path)
    model = ResNetTokenizer(
        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(ValueError, match='other.pth'):
        model.init_weights()


def test_unsafe_checkpoint_is_refused(tmp_path):
    """Loading goes through the safe (weights-only) loader."""
    import pickle

    class Evil:

        def __reduce__(self):
            return (print, ('pwned', ))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': torchvision_resnet18_state(), 'x': Evil()}, path)
    model = ResNetTokenizer(
        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(pickle.UnpicklingError):
        model.init_weights()


def _write_ms1m_style_file(path, seed=4):
    """A torchvision-layout file as the MS-Celeb-1M releases circulate:
    wrapped in ``{'state_dict': ...}``, every key prefixed ``module.``."""
    state = torchvision_resnet18_state(seed=seed)
    torch.save(
        {
            'state_dict': OrderedDict(
                (f'module.{k}', v) for k, v in state.items())
        }, path)
    return state


def _build_paper_model(cfg):
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _assert_backbone_is(model, state):
    own = model.backbone.state_dict()
    assert own, 'empty backbone'
    for key, value in own.items():
        assert torch.equal(value, state[key]), key


def test_paper_init_from_the_command_line_form(tmp_path):
    """``--cfg-options model.backbone.init_cfg.type=Pretrained
    model.backbone.init_cfg.checkpoint=P`` on the base model config."""
    from mmengine import Config
    path = tmp_path / 'Resnet18_MS1M_pytorch.pth.tar'
    state = _write_ms1m_style_file(path)
    cfg = Config.fromfile(PAPER_CFG)
    cfg.merge_from_dict({
        'model.backbone.init_cfg.type': 'Pretrained',
        'model.backbone.init_cfg.checkpoint': str(path)
    })
    _assert_backbone_is(_build_paper_model(cfg), state)


def test_paper_init_from_the_config_form(tmp_path):
    """``model = dict(backbone=dict(init_cfg=dict(type='Pretrained',
    checkpoint=PATH)))`` in a config that inherits the base model."""
    from mmengine import Config
    path = tmp_path / 'ijba_res18_naive.pth'
    state = _write_ms1m_style_file(path, seed=5)
    cfg_file = tmp_path / 'paper_init.py'
    cfg_file.write_text(
        f'_base_ = [{PAPER_CFG!r}]\n'
        'model = dict(backbone=dict(init_cfg=dict(type=\'Pretrained\', '
        f'checkpoint={str(path)!r})))\n')
    _assert_backbone_is(_build_paper_model(Config.fromfile(cfg_file)), state)


def test_base_config_without_checkpoint_trains_from_scratch():
    from mmengine import Config
    cfg = Config.fromfile(PAPER_CFG)
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=None)
    model = _build_paper_model(cfg)
    weight = model.backbone.layer1[0].conv1.weight
    # Kaiming-normal, fan_out = 64 * 9: std sqrt(2 / 576).
    assert abs(weight.std().item() - (2 / 576)**0.5) < 0.01


def test_registered():
    from mmaction.registry import MODELS
    model = MODELS.build(dict(type='ResNetTokenizer', out_stage=2))
    assert isinstance(model, ResNetTokenizer)
