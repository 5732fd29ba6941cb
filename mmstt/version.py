# Copyright (c) OpenMMLab. All rights reserved.
__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """Parse a version string such as ``'0.1.0'`` into a tuple of ints.

    Args:
        version_str (str): The version string.

    Returns:
        tuple: The numeric parts, e.g. ``(0, 1, 0)``.
    """
    return tuple(
        int(part) for part in version_str.split('.') if part.isdigit())


version_info = parse_version_info(__version__)

__all__ = ['__version__', 'version_info']
