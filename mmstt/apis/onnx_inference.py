# Copyright (c) OpenMMLab. All rights reserved.
"""Run an exported ``.onnx`` recognizer with onnxruntime."""
import json
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmaction.structures import ActionDataSample

__all__ = ['ONNXRecognizer', 'onnx_providers']


def onnx_providers(device: Union[str, torch.device] = 'cpu') -> List[str]:
    """onnxruntime execution providers for a torch-style device name.

    Args:
        device (str | torch.device): ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
            Defaults to ``'cpu'``.

    Returns:
        list[str]: ``['CUDAExecutionProvider', 'CPUExecutionProvider']``
        for a CUDA device (when this onnxruntime build has CUDA), else
        ``['CPUExecutionProvider']``.

    Raises:
        RuntimeError: If a CUDA device is asked for and onnxruntime has no
            CUDA provider.
    """
    import onnxruntime as ort
    if str(device).startswith('cuda'):
        if 'CUDAExecutionProvider' not in ort.get_available_providers():
            raise RuntimeError(
                f'device {device}: this onnxruntime has no '
                'CUDAExecutionProvider (install onnxruntime-gpu) ; use cpu')
        return ['CUDAExecutionProvider', 'CPUExecutionProvider']
    return ['CPUExecutionProvider']


class ONNXRecognizer:
    """A recognizer exported by :func:`~mmstt.apis.export_onnx`.

    It runs in onnxruntime and answers :meth:`test_step` like a PyTorch
    recognizer, so :func:`~mmstt.apis.inference_recognizer` (and
    ``tools/demo.py``) accept it in place of one; ``cfg`` (set by
    :func:`~mmstt.apis.init_recognizer`) supplies the test pipeline.

    Args:
        path (str): The ``.onnx`` file.
        device (str): ``'cpu'`` or ``'cuda[:N]'`` (see
            :func:`onnx_providers`). Defaults to ``'cpu'``.
        num_threads (int, optional): onnxruntime intra-op threads. Defaults
            to None (onnxruntime's choice).

    Attributes:
        class_names (list[str] | None): From the file's metadata.
        clip_shape (tuple[int, int, int, int]): ``(3, T, H, W)`` the graph
            takes.
        cfg (Config | None): The config giving the pipeline, if set.
    """

    def __init__(self,
                 path: str,
                 device: str = 'cpu',
                 num_threads: Optional[int] = None) -> None:
        import onnxruntime as ort
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} does not exist')
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
        try:
            self.session = ort.InferenceSession(
                path, options, providers=onnx_providers(device))
        except Exception as exc:  # onnxruntime raises its own types
            raise ValueError(f'{path}: onnxruntime cannot load it '
                             f'({exc})') from exc
        self.path = path
        inputs = self.session.get_inputs()
        outputs = self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f'{path}: expected one input and one output, '
                             f'got {len(inputs)} and {len(outputs)}')
        self.input_name = inputs[0].name
        dims = inputs[0].shape
        if len(dims) != 5 or not all(isinstance(d, int) for d in dims[1:]):
            raise ValueError(f'{path}: input {self.input_name} has shape '
                             f'{dims}, expected (N, 3, T, H, W) with fixed '
                             'T, H, W')
        self.clip_shape: Tuple[int, ...] = tuple(int(d) for d in dims[1:])
        meta = self.session.get_modelmeta().custom_metadata_map
        names = meta.get('class_names')
        self.class_names: Optional[List[str]] = \
            list(json.loads(names)) if names else None
        self.cfg = None

    @property
    def num_classes(self) -> Optional[int]:
        """int | None: Number of classes (from the output shape)."""
        dim = self.session.get_outputs()[0].shape[-1]
        return int(dim) if isinstance(dim, int) else None

    def predict_scores(self, clips: np.ndarray) -> np.ndarray:
        """Class probabilities of clips.

        Args:
            clips (np.ndarray): Raw clips ``(N, 3, T, H, W)``, 0..255 (any
                real dtype; converted to float32).

        Returns:
            np.ndarray: float32 probabilities of shape ``(N, num_classes)``.

        Raises:
            ValueError: If the clips do not have the exported shape.
        """
        clips = np.asarray(clips)
        if clips.ndim != 5 or tuple(clips.shape[1:]) != self.clip_shape:
            raise ValueError(f'{self.path} takes clips of shape (N, '
                             f'{", ".join(map(str, self.clip_shape))}), got '
                             f'{tuple(clips.shape)}')
        feed = {self.input_name: np.ascontiguousarray(clips, np.float32)}
        return self.session.run(None, feed)[0]

    def test_step(self, data: dict) -> List[ActionDataSample]:
        """Predict a collated batch as a PyTorch recognizer does.

        Args:
            data (dict): ``inputs`` (list of ``(V, 3, T, H, W)`` tensors or
                arrays, ``V`` views of one sample) and optional
                ``data_samples``.

        Returns:
            list[ActionDataSample]: One per sample with ``pred_score``
            (the mean of the views' probabilities, ``(num_classes,)``) and
            ``pred_label``.
        """
        samples: Sequence = data.get('data_samples') or [
            ActionDataSample() for _ in data['inputs']
        ]
        results = []
        for views, sample in zip(data['inputs'], samples):
            if isinstance(views, torch.Tensor):
                views = views.detach().cpu().numpy()
            views = np.asarray(views)
            if views.ndim == 4:
                views = views[None]
            probs = self.predict_scores(views).mean(axis=0)
            sample = sample if sample is not None else ActionDataSample()
            sample.set_pred_score(torch.from_numpy(probs.astype(np.float32)))
            sample.set_pred_label(torch.tensor(int(np.argmax(probs))))
            results.append(sample)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.path!r}, clip_shape='
                f'{self.clip_shape}, classes={self.class_names})')
