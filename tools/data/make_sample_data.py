# Copyright (c) OpenMMLab. All rights reserved.
"""Generate a small DFEW or AFEW look-alike in the released layout.

The data sets themselves are licensed; this writes a deterministic stand-in
(drawn faces whose expression develops over the clip, every class, some
clips shorter than 16 frames) for ``make demo``, the tests and for trying
the tools. See ``docs/data_preparation.md``.
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import Optional, Sequence


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments; ``sys.argv[1:]`` when
            ``None``.

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        description='Write a small deterministic DFEW or AFEW look-alike '
        '(procedurally drawn faces) in the exact released layout.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        'out', help='output folder, e.g. data/dfew_sample (created)')
    parser.add_argument(
        '--layout',
        choices=('dfew', 'afew'),
        default='dfew',
        help='dfew: EmoLabel_DataSplit/ split CSVs of 5 folds, '
        'Clip/clip_224x224/<id>/ face frames and Clip/original/<id>.mp4; '
        'afew: Train_AFEW/<Class>/*.avi and Val_AFEW/<Class>/*.avi '
        'whole-frame videos with a face somewhere in the frame')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--clips-per-class',
        type=int,
        default=3,
        help='dfew: clips per class (>= 2 puts every class in every '
        'training fold)')
    parser.add_argument(
        '--no-videos',
        action='store_true',
        help='dfew: do not write Clip/original/*.mp4')
    parser.add_argument(
        '--train-per-class',
        type=int,
        default=2,
        help='afew: videos per class in Train_AFEW')
    parser.add_argument(
        '--val-per-class',
        type=int,
        default=1,
        help='afew: videos per class in Val_AFEW')
    parser.add_argument(
        '--force',
        action='store_true',
        help='write into OUT even if it is not empty')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Generate the sample set.

    Args:
        argv (Sequence[str], optional): Command line arguments.

    Returns:
        int: The exit status.
    """
    args = parse_args(argv)
    from mmstt.datasets.sample_data import make_afew_sample, make_dfew_sample
    if osp.isdir(args.out) and os.listdir(args.out) and not args.force:
        print(
            f'error: {args.out} is not empty (use --force to write into '
            'it)',
            file=sys.stderr)
        return 1
    start = time.time()
    if args.layout == 'dfew':
        if args.clips_per_class < 1:
            print('error: --clips-per-class must be >= 1', file=sys.stderr)
            return 2
        clips = make_dfew_sample(
            args.out,
            seed=args.seed,
            clips_per_class=args.clips_per_class,
            write_videos=not args.no_videos,
            progress=True)
        short = sum(c['num_frames'] < 16 for c in clips)
        print(f'wrote {len(clips)} DFEW-layout clips ({short} shorter than '
              f'16 frames, 5 folds) to {args.out} in '
              f'{time.time() - start:.1f}s')
    else:
        videos = make_afew_sample(
            args.out,
            seed=args.seed,
            train_per_class=args.train_per_class,
            val_per_class=args.val_per_class,
            progress=True)
        print(f'wrote {len(videos)} AFEW-layout videos to {args.out} in '
              f'{time.time() - start:.1f}s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
