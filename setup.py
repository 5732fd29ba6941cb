# Copyright (c) OpenMMLab. All rights reserved.
import os.path as osp
from setuptools import find_packages, setup


def read_requirements(name: str) -> list:
    """Read the requirement lines of ``requirements/<name>.txt``."""
    path = osp.join(osp.dirname(__file__), 'requirements', f'{name}.txt')
    with open(path) as f:
        return [
            line.strip() for line in f
            if line.strip() and not line.startswith('#')
        ]


def get_version() -> str:
    """Read ``__version__`` from ``mmstt/version.py`` without importing."""
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'mmstt', 'version.py')) as f:
        exec(compile(f.read(), 'mmstt/version.py', 'exec'), scope)
    return scope['__version__']


if __name__ == '__main__':
    setup(
        name='mmstt',
        version=get_version(),
        description='Spatio-Temporal Transformer for dynamic facial '
        'expression recognition, as an MMAction2 plugin',
        long_description=open('README.md').read(),
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        packages=find_packages(
            exclude=('configs', 'tools', 'tests', 'benchmarks', 'docs')),
        python_requires='>=3.9',
        install_requires=read_requirements('runtime'),
        extras_require={
            'mim': read_requirements('mminstall'),
            'tests': read_requirements('tests'),
        },
        zip_safe=False)
