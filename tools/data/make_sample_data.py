# Copyright (c) OpenMMLab. All rights reserved.
"""Generate a DFEW or AFEW look-alike in the released layout.

The data sets themselves are licensed; this writes a deterministic
stand-in of drawn faces for ``make demo``, the tests and for trying the
tools (see ``docs/data_preparation.md``):

* ``--layout dfew`` (default): 1,050 face-crop clips made for learning
  (``mmstt.testing.make_dfew_sample``): every clip its own identity and
  scene, expressions developing neutral -> apex, DFEW-like clip lengths,
  5 folds with balanced classes (fold 1: 840 train / 210 test);
* ``--layout afew``: whole-frame ``.avi`` videos with a face somewhere in
  the frame, for the face detection tools.
* ``--layout ferv39k`` / ``--layout mafw``: small FERV39k and MAFW
  look-alikes in their released layouts
  (``mmstt.testing.make_ferv39k_sample`` / ``make_mafw_sample``).
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import Optional, Sequence

#: Layouts this tool writes (``--layout``).
LAYOUTS = ('dfew', 'afew', 'ferv39k', 'mafw')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        description='Write a deterministic look-alike of a licensed DFER '
        'data set (procedurally drawn faces) in its exact released layout.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        'out', help='output folder, e.g. data/dfew_sample (created)')
    parser.add_argument(
        '--layout',
        choices=LAYOUTS,
        default='dfew',
        help='dfew: EmoLabel_DataSplit/ split CSVs of 5 folds and '
        'Clip/clip_224x224/<id>/ face frames (Clip/original/<id>.mp4 with '
        '--videos); afew: Train_AFEW/<Class>/*.avi and Val_AFEW/<Class>/'
        '*.avi whole-frame videos with a face somewhere in the frame; '
        'ferv39k: 2_ClipsforFaceCrop/<Scene>/<Emotion>/<NNNN>/ frames and '
        '4_setups/All_scenes/{train,test}_All.csv (21 clips); mafw: '
        'data/frames/<id>/ frames and the 5 single-label fold lists under '
        '"Train & Test Set/single/no_caption/" (55 clips, 11 classes; see '
        'mmstt.testing.released_layouts)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--clips-per-class',
        type=int,
        default=150,
        help='dfew: clips per class (a multiple of 5 balances every fold)')
    parser.add_argument(
        '--frame-size',
        type=int,
        default=112,
        help='dfew: side of the square face frames in pixels (the folder '
        'keeps DFEW\'s name clip_224x224; pipelines resize)')
    parser.add_argument(
        '--videos',
        action='store_true',
        help='dfew: also write Clip/original/<id>.mp4 (about doubles the '
        'time); mafw: also write data/clips/<id>.mp4')
    parser.add_argument(
        '--workers',
        type=int,
        default=2,
        help='dfew: processes drawing clips (0: none); the files do not '
        'depend on it')
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
        argv (Sequence[str], optional): Arguments. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        int: The exit status.
    """
    args = parse_args(argv)
    if osp.isdir(args.out) and os.listdir(args.out) and not args.force:
        print(
            f'error: {args.out} is not empty (use --force to write into '
            'it)',
            file=sys.stderr)
        return 1
    start = time.time()
    from mmstt.testing import make_afew_sample, make_dfew_sample
    if args.layout == 'dfew':
        if args.clips_per_class < 1:
            print('error: --clips-per-class must be >= 1', file=sys.stderr)
            return 2
        clips = make_dfew_sample(
            args.out,
            seed=args.seed,
            clips_per_class=args.clips_per_class,
            frame_size=args.frame_size,
            write_videos=args.videos,
            num_workers=args.workers,
            progress=True)
        short = sum(c['num_frames'] < 16 for c in clips)
        test = sum(c['test_fold'] == 1 for c in clips)
        print(f'wrote {len(clips)} DFEW-layout clips '
              f'({sum(c["num_frames"] for c in clips)} frames, {short} '
              f'clips shorter than 16 frames; fold 1: {len(clips) - test} '
              f'train / {test} test) to {args.out} in '
              f'{time.time() - start:.1f}s')
    elif args.layout == 'afew':
        videos = make_afew_sample(
            args.out,
            seed=args.seed,
            train_per_class=args.train_per_class,
            val_per_class=args.val_per_class,
            progress=True)
        print(f'wrote {len(videos)} AFEW-layout videos to {args.out} in '
              f'{time.time() - start:.1f}s')
    elif args.layout == 'ferv39k':
        from mmstt.testing import make_ferv39k_sample
        clips = make_ferv39k_sample(
            args.out, seed=args.seed, size=args.frame_size)
        print(f'wrote {len(clips)} FERV39k-layout clips to {args.out} in '
              f'{time.time() - start:.1f}s')
    elif args.layout == 'mafw':
        from mmstt.testing import make_mafw_sample
        clips = make_mafw_sample(
            args.out,
            seed=args.seed,
            size=args.frame_size,
            write_videos=args.videos)
        print(f'wrote {len(clips)} MAFW-layout clips (5 folds, 11 classes) '
              f'to {args.out} in {time.time() - start:.1f}s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
