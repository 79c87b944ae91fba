import numpy as np
import pytest
import torch
from torch import nn

from core.models import build_model
from core.models.audio_rnn import AudioRNN
from core.models.face_strnn import FaceSTRNN
from core.models.fusion import FusionNet
from core.training.batches import WindowBatches
from core.training.checkpoint import load_checkpoint
from core.training.trainers import (
    AudioRNNTrainer,
    WindowClassifierTrainer,
    class_weights_from_participants,
    participant_validation_metrics,
)

N_PARTICIPANTS, PER = 8, 6


def windows(n_features, device="cpu", drop_last=False):
    gen = torch.Generator().manual_seed(0)
    participant_labels = [0, 1] * (N_PARTICIPANTS // 2)
    pids = np.repeat(np.arange(900, 900 + N_PARTICIPANTS), PER)
    y = torch.tensor(participant_labels).repeat_interleave(PER)
    x = torch.randn(len(y), 6, n_features, generator=gen) + 0.5 * y[:, None, None]  # (N, T, F)
    train = WindowBatches(x, y, pids, 10, shuffle=True, device=device, drop_last=drop_last)
    val = WindowBatches(x, y, pids, 16, shuffle=False, device=device)
    return train, val, participant_labels


def make_trainer(cls, model, labels, device="cpu", **kwargs):
    weights = class_weights_from_participants(labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return cls(
        model, nn.CrossEntropyLoss(weight=weights), optimizer, device, progress=False, **kwargs
    )


def test_audio_trainer_records_participant_metrics_and_a_rebuildable_checkpoint(tmp_path):
    torch.manual_seed(0)
    train, val, labels = windows(3)
    model = AudioRNN(input_size=3, hidden_size=8, num_layers=2, dropout=0.3)
    trainer = make_trainer(AudioRNNTrainer, model, labels, run_dir=tmp_path)
    history = trainer.train(train, val, n_epochs=2)
    assert trainer.status == "completed" and trainer.max_grad_norm == 1.0
    record = history[-1]
    assert record["val_n"] == N_PARTICIPANTS  # aggregated per participant, not per window
    assert {"val_macro_f1", "val_auroc", "val_f1_depressed", "val_confusion_matrix"} <= set(record)
    ckpt = load_checkpoint(tmp_path / "best_model.pth")
    assert ckpt["config"]["training"]["max_grad_norm"] == 1.0
    rebuilt = build_model(ckpt["config"]["model"]["class"], ckpt["config"]["model"]["init_kwargs"])
    rebuilt.load_state_dict(ckpt["model_state_dict"])  # strict
    assert isinstance(rebuilt, AudioRNN)


def test_audio_trainer_clips_the_gradient_norm():
    torch.manual_seed(0)
    _, val, labels = windows(3)
    model = AudioRNN(input_size=3, hidden_size=8, num_layers=1, dropout=0.0)
    before = [p.detach().clone() for p in model.parameters()]
    trainer = AudioRNNTrainer(
        model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=1.0), "cpu",
        max_grad_norm=1e-3, progress=False,
    )  # fmt: skip
    one_batch = WindowBatches(val.x, val.y, val.participant_ids, 48, shuffle=False)
    trainer.train_epoch(one_batch)
    params = list(model.parameters())
    step = torch.cat([(p.detach() - b).flatten() for p, b in zip(params, before, strict=True)])
    assert 0 < step.norm() <= 1e-3 * 1.001


def test_the_shared_trainer_trains_the_face_model_through_its_logits():
    torch.manual_seed(0)
    train, val, labels = windows(4, drop_last=True)
    model = FaceSTRNN(input_size=4, hidden_size=6, num_layers=1, num_classes=2, dropout=0.2)
    trainer = make_trainer(WindowClassifierTrainer, model, labels)
    history = trainer.train(train, val, n_epochs=2)
    assert trainer.status == "completed" and len(history) == 2
    assert trainer.config["model"]["class"] == "FaceSTRNN"
    assert history[-1]["val_n"] == N_PARTICIPANTS


def test_the_shared_trainer_feeds_fusion_named_inputs_one_row_per_participant():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    labels = [0, 1] * 6
    y = torch.tensor(labels)
    inputs = {
        "audio_emb": torch.randn(12, 4, generator=gen) + y[:, None],  # (P, A)
        "face_emb": torch.randn(12, 3, generator=gen),  # (P, Fe)
        "text_prob": torch.rand(12, generator=gen),  # (P,)
        "mask": torch.ones(12, 3),  # (P, 3)
    }
    pids = np.arange(900, 912)
    train = WindowBatches(inputs, y, pids, 4, shuffle=True)
    val = WindowBatches(inputs, y, pids, 12, shuffle=False)
    model = FusionNet(audio_dim=4, face_dim=3, hidden_size=8)
    trainer = make_trainer(WindowClassifierTrainer, model, labels)
    history = trainer.train(train, val, n_epochs=3)
    assert trainer.status == "completed" and history[-1]["val_n"] == 12


def test_participant_metrics_average_windows_first():
    ids = np.array([1, 1, 1, 2, 2])
    probs = np.array([0.9, 0.8, 0.1, 0.2, 0.3])  # participant 1 mean 0.6, participant 2 0.25
    metrics = participant_validation_metrics(ids, probs, np.array([1, 1, 1, 0, 0]))
    assert metrics["val_n"] == 2 and metrics["val_macro_f1"] == 1.0
    assert metrics["val_auroc"] == 1.0


def test_amp_is_ignored_on_the_cpu(tmp_path):
    train, val, labels = windows(3)
    model = AudioRNN(input_size=3, hidden_size=8, num_layers=1, dropout=0.0)
    trainer = make_trainer(AudioRNNTrainer, model, labels, amp=True, run_dir=tmp_path)
    trainer.train(train, val, n_epochs=1)
    assert not trainer.use_amp and trainer.config["training"]["amp"] is True
    assert load_checkpoint(tmp_path / "latest_checkpoint.pth")["scaler_state_dict"] is None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_one_mixed_precision_epoch_on_cuda(tmp_path):
    from core.training.device import choose_device

    device = choose_device("cuda")
    torch.manual_seed(0)
    train, val, labels = windows(3, device=device)
    model = AudioRNN(input_size=3, hidden_size=8, num_layers=2, dropout=0.3)
    trainer = make_trainer(
        AudioRNNTrainer, model, labels, device=device, amp=True, run_dir=tmp_path
    )
    history = trainer.train(train, val, n_epochs=2)
    assert trainer.use_amp and trainer.status == "completed"
    assert all(np.isfinite(r["train_loss"]) for r in history)
    assert next(trainer.model.parameters()).device.type == "cuda"
    ckpt = load_checkpoint(tmp_path / "latest_checkpoint.pth", map_location="cpu")
    assert ckpt["scaler_state_dict"]["scale"] > 0
    assert ckpt["model_state_dict"]["fc2.weight"].device.type == "cpu"
    resumed = make_trainer(
        AudioRNNTrainer,
        AudioRNN(input_size=3, hidden_size=8, num_layers=2, dropout=0.3),
        labels, device=device, amp=True, run_dir=tmp_path,
    )  # fmt: skip
    resumed.train(train, val, n_epochs=3, resume_from=tmp_path)
    assert resumed.status == "completed" and resumed.epoch == 3
