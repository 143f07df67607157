# AffectNet, 7 classes (contempt left out): the 8-class data settings with
# num_classes=7 in every split. Train training.csv, validate and report on
# validation.csv. Faces are cropped to the CSV face boxes.
_base_ = ['./affectnet8_linear_probe.py']

num_classes = 7
train_dataloader = dict(dataset=dict(num_classes=7))
val_dataloader = dict(dataset=dict(num_classes=7))
test_dataloader = dict(dataset=dict(num_classes=7))
