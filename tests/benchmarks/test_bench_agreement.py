# Copyright (c) OpenMMLab. All rights reserved.
"""BatchNorm calibration of the agreement benchmark's random model."""
import torch
from mmaction.structures import ActionDataSample

from benchmarks.bench_agreement import calibrate_bn
from benchmarks.model_factory import build_model
from benchmarks.run import SETTINGS

QUICK = SETTINGS['quick']['model_overrides']


def _views(count: int) -> list:
    gen = torch.Generator().manual_seed(0)
    return [
        dict(
            inputs=torch.randint(
                0, 256, (1, 3, 4, 64, 64), generator=gen, dtype=torch.uint8),
            data_samples=ActionDataSample().set_gt_label(i % 7))
        for i in range(count)
    ]


def test_calibrate_bn_sets_the_activation_statistics() -> None:
    """Running stats become the mean/variance of what each BN layer saw."""
    model = build_model(overrides=QUICK)
    bn = model.backbone.bn1
    momentum = bn.momentum
    seen = []
    hook = model.backbone.conv1.register_forward_hook(
        lambda m, i, o: seen.append(o.detach().float()))
    layers = calibrate_bn(model, _views(6), 3, torch.device('cpu'))
    hook.remove()
    assert layers == sum(
        isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert len(seen) == 2  # two batches of 3 clips
    # momentum=None: cumulative average of the per-batch statistics.
    means = torch.stack([o.mean(dim=(0, 2, 3)) for o in seen])
    variances = torch.stack([o.var(dim=(0, 2, 3)) for o in seen])
    assert torch.allclose(bn.running_mean, means.mean(0), atol=1e-5)
    assert torch.allclose(bn.running_var, variances.mean(0), rtol=1e-4)
    assert int(bn.num_batches_tracked) == 2
    assert bn.momentum == momentum
    assert not model.training and not bn.training
