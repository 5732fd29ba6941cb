# AFEW 7.0 face frames, paper settings (see dfew.py): 8x2 sampling, 112x112,
# clip-level random resized crop + flip in training, resize at test.
# AFEW's videos are whole frames: crop the faces first with
#   python tools/data/afew/extract_faces.py data/AFEW data/AFEW_faces
# which writes Train_AFEW/<Class>/<video>/ and Val_AFEW/... frame folders.
# Labels follow the DFEW order, so a DFEW checkpoint fine-tunes directly.
# AFEW's test labels are unreleased: Val_AFEW is the evaluation split.
_base_ = ['./dfew.py']  # the same pipelines and evaluator

dataset_type = 'AFEWDataset'
data_root = 'data/AFEW_faces'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        split='train',
        media='frames',
        on_bad_clip='raise',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        split='val',
        media='frames',
        on_bad_clip='raise',
        pipeline={{_base_.val_pipeline}},
        test_mode=True))
test_dataloader = val_dataloader
