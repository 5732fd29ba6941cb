# Copyright (c) OpenMMLab. All rights reserved.
"""The label order shared by every DFER data set in mmstt.

DFEW's split files number the classes 1..7 as happy, sad, neutral, angry,
surprise, disgust, fear. mmstt uses that order, 0-based, for every data set
(AFEW and FERV39k included), so a DFEW checkpoint fine-tunes on AFEW
without remapping. MAFW's 11 classes start with the same seven and add
contempt, anxiety, helplessness and disappointment, so a 7-class
checkpoint's outputs line up with MAFW's first seven.
"""
from typing import Dict

__all__ = [
    'DFER_CLASSES', 'MAFW_CLASSES', 'CLASS_FOLDER_ALIASES', 'MAFW_LABELS',
    'class_index_from_folder'
]

#: Class names in label order 0..6 (DFEW labels 1..7 minus one).
DFER_CLASSES = ('happy', 'sad', 'neutral', 'angry', 'surprise', 'disgust',
                'fear')

#: MAFW's 11 single-label classes in label order 0..10: DFER_CLASSES, then
#: the four classes only MAFW has.
MAFW_CLASSES = DFER_CLASSES + ('contempt', 'anxiety', 'helplessness',
                               'disappointment')

#: MAFW fold-list labels as spelled in the release -> label 0..10.
MAFW_LABELS: Dict[str, int] = {
    'happiness': 0,
    'sadness': 1,
    'neutral': 2,
    'anger': 3,
    'surprise': 4,
    'disgust': 5,
    'fear': 6,
    'contempt': 7,
    'anxiety': 8,
    'helplessness': 9,
    'disappointment': 10,
}

#: Class names used by AFEW and FERV39k releases (lower-cased) -> label
#: 0..6. The EmotiW release (and FERV39k) name them Angry, Disgust, Fear,
#: Happy, Neutral, Sad, Surprise; Former-DFER's face-frame copy of AFEW
#: names them Anger, Disgust, Fear, Happiness, Neutral, Sadness, Surprise.
CLASS_FOLDER_ALIASES: Dict[str, int] = {
    'happy': 0,
    'happiness': 0,
    'sad': 1,
    'sadness': 1,
    'neutral': 2,
    'angry': 3,
    'anger': 3,
    'surprise': 4,
    'surprised': 4,
    'disgust': 5,
    'disgusted': 5,
    'fear': 6,
    'fearful': 6,
}


def class_index_from_folder(name: str) -> int:
    """Map a class folder name to its DFER label.

    Args:
        name (str): Folder name such as ``'Happy'`` or ``'Happiness'``
            (case-insensitive).

    Returns:
        int: The label in ``0..6`` (index into :data:`DFER_CLASSES`).

    Raises:
        KeyError: If the name is not a known class folder name.
    """
    key = name.strip().lower()
    if key not in CLASS_FOLDER_ALIASES:
        known = sorted({n.capitalize() for n in CLASS_FOLDER_ALIASES})
        raise KeyError(f'unknown class folder name {name!r}; expected one '
                       f'of {known} (case-insensitive)')
    return CLASS_FOLDER_ALIASES[key]
