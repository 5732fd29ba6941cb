# Copyright (c) OpenMMLab. All rights reserved.
import pytest

import mmstt
from mmstt.datasets import DFER_CLASSES, class_index_from_folder


def test_label_order_is_dfews() -> None:
    assert DFER_CLASSES == ('happy', 'sad', 'neutral', 'angry', 'surprise',
                            'disgust', 'fear')
    assert mmstt.datasets.DFER_CLASSES is DFER_CLASSES


@pytest.mark.parametrize('emotiw,former,name', [
    ('Happy', 'Happiness', 'happy'),
    ('Sad', 'Sadness', 'sad'),
    ('Neutral', 'Neutral', 'neutral'),
    ('Angry', 'Anger', 'angry'),
    ('Surprise', 'Surprise', 'surprise'),
    ('Disgust', 'Disgust', 'disgust'),
    ('Fear', 'Fear', 'fear'),
])
def test_afew_folder_names_map_to_dfew_order(emotiw, former, name) -> None:
    label = DFER_CLASSES.index(name)
    assert class_index_from_folder(emotiw) == label
    assert class_index_from_folder(former) == label
    assert class_index_from_folder(emotiw.upper()) == label


def test_unknown_folder_name() -> None:
    with pytest.raises(KeyError, match='Contempt'):
        class_index_from_folder('Contempt')
