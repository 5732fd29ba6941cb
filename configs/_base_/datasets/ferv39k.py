# FERV39k face crops (2_ClipsforFaceCrop/<Scene>/<Emotion>/<NNNN>/), the
# official all-scene split (4_setups/All_scenes/{train,test}_All.csv),
# with the DFEW settings (see dfew.py): 8x2 sampling, 112x112, clip-level
# random resized crop + flip in training, resize at test. FERV39k clips
# have 8-47 frames; shorter than 16 are padded with their last frame.
# Labels follow the DFEW order; every record carries its scene and its
# clip_id is the whole Scene/Emotion/NNNN path, so a --dump of
# tools/test.py can be broken down per scene with
# tools/analysis/per_scene_metrics.py.
# FERV39k has one train/test split and no validation split: the test split
# is evaluated after every epoch, as for DFEW (see dfer_checkpoint).
_base_ = ['./dfew.py']  # the same pipelines and evaluator

dataset_type = 'FERV39kDataset'
data_root = 'data/FERV39k'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        split='train',
        media='frames',
        frame_dir='2_ClipsforFaceCrop',
        on_bad_clip='raise',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        split='test',
        media='frames',
        frame_dir='2_ClipsforFaceCrop',
        on_bad_clip='raise',
        pipeline={{_base_.val_pipeline}},
        test_mode=True))
test_dataloader = val_dataloader
