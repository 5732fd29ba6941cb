# Copyright (c) OpenMMLab. All rights reserved.
"""STT benchmarks: ``make bench`` runs :mod:`benchmarks.run`.

The modules here measure speed only; nothing under ``benchmarks/`` is part
of the ``mmstt`` package. Importing this package imports :mod:`mmstt`
first, which repairs the OpenMMLab stack (``mmaction.models`` cannot be
imported without it) and registers STT's modules.
"""
import mmstt  # noqa: F401

__all__: list = []
