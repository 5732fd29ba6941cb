# MAFW, 11-class single-label 5-fold protocol
# (Train & Test Set/single/no_caption/set_K/{train,test}.txt), face frames
# under data/frames/<NNNNN>/, with the DFEW settings (see dfew.py): 8x2
# sampling, 112x112, clip-level random resized crop + flip in training,
# resize at test. Labels: DFEW's seven, then contempt, anxiety,
# helplessness, disappointment (MAFWDataset.METAINFO).
#
# The face-frame folder is named differently in different copies
# (data/faces, data/frames/frames, data/frames/frames_crop_align_224):
#   --cfg-options train_dataloader.dataset.frame_dir=data/faces
#   val_dataloader.dataset.frame_dir=data/faces
# The videos (data/clips/*.mp4) instead: media='video' with the video
# pipelines of dfew.py (dfew_video_train_pipeline ...).
# MAFW has no validation split: the fold's test list is evaluated after
# every epoch, as for DFEW (see dfer_checkpoint in the top-level configs).
_base_ = ['./dfew.py']  # the same pipelines and evaluator

dataset_type = 'MAFWDataset'
data_root = 'data/MAFW'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        fold=1,
        split='train',
        media='frames',
        frame_dir='data/frames',
        on_bad_clip='raise',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        fold=1,
        split='test',
        media='frames',
        frame_dir='data/frames',
        on_bad_clip='raise',
        pipeline={{_base_.val_pipeline}},
        test_mode=True))
test_dataloader = val_dataloader
