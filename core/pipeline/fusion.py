"""Fusion runs: per-participant audio and face embeddings plus text probabilities.

Inputs per participant: the mean window embedding of the audio run's and the face run's
best model (``return_embedding``), and the text run's depressed-probability. For
**training** participants the text probability is the text run's *out-of-fold*
probability (in-sample Random Forest probabilities are near-perfect and would teach the
fusion to trust text blindly); dev and test participants get the fitted model's output.
A participant missing a modality gets zeros there and 0 in the availability mask.

Beside the learned fusion, every evaluation shows the late-fusion baseline: the mean of
the available modalities' depressed-probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.config import resolve_data_root
from core.data import Corpus
from core.data.features import load_windows
from core.evaluation.metrics import aggregate_windows
from core.models import FusionNet, build_model, late_fusion
from core.pipeline import neural, text
from core.runs import folder
from core.runs.folder import read_config
from core.training.batches import WindowBatches
from core.training.checkpoint import load_checkpoint
from core.training.device import choose_device, seed_everything
from core.training.trainers import MultimodalFusionTrainer

SOURCE_MODALITIES = ("audio", "face", "text")


def best_finished_run(runs_root: Path, modality: str, data_root: str | None) -> Path | None:
    """The finished run of ``modality`` on the same data with the lowest validation loss."""
    best, best_loss = None, np.inf
    if not Path(runs_root).is_dir():
        return None
    for run in sorted(Path(runs_root).iterdir()):
        if not (run / folder.CONFIG).is_file():  # .gitkeep, lock files, unrelated folders
            continue
        config = folder.read_json(run / folder.CONFIG)
        status = folder.read_json(run / folder.STATUS) or {}
        if not config or config.get("modality") != modality:
            continue
        if config["data"].get("root") != data_root:
            continue
        if status.get("state") not in ("completed", "early-stopped"):
            continue
        losses = [r["val_loss"] for r in folder.read_metrics(run) if r.get("val_loss") is not None]
        if losses and min(losses) < best_loss:
            best, best_loss = run, min(losses)
    return best


def _modality_table(
    source: Path, modality: str, corpus: Corpus, splits: Sequence[str]
) -> dict[str, dict[int, tuple[np.ndarray | None, float]]]:
    """Per split: participant ID to (embedding or None, depressed-probability)."""
    out: dict[str, dict[int, tuple[np.ndarray | None, float]]] = {}
    if modality == "text":
        config = read_config(source)
        pipeline = text.load_text_run(source)
        for split in splits:
            ids, probs, _ = text.predict_text(pipeline, corpus, split, config["text"]["speakers"])
            if split == "train":
                probs = text.train_oof(source, ids)  # never in-sample probabilities
            out[split] = {pid: (None, float(p)) for pid, p in zip(ids, probs, strict=True)}
        return out
    model, config, normaliser = neural.load_neural_run(source)
    windows, _, _ = load_windows(
        corpus,
        neural.feature_settings(config),
        neural.window_settings(config),
        splits=splits,
        normaliser=normaliser,
    )
    for split in splits:
        ws = windows[split]
        embeddings = neural.predict_windows(model, ws.x, embeddings=True)  # (N, D)
        probs = neural.predict_windows(model, ws.x)  # (N,)
        ids, mean_probs, _ = aggregate_windows(ws.participant_ids, probs)
        out[split] = {
            int(pid): (embeddings[ws.participant_ids == pid].mean(axis=0), float(p))
            for pid, p in zip(ids, mean_probs, strict=True)
        }
    return out


def fusion_inputs(
    config: dict[str, Any], splits: Sequence[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Fusion inputs of each split from the configuration's source runs.

    Returns
    -------
    inputs : dict
        Per split: ``ids`` (P,), ``labels`` (P,), ``x`` (dict of arrays ``audio_emb``
        (P, Da), ``face_emb`` (P, Df), ``text_prob`` (P, 1), ``mask`` (P, 3)) and
        ``probs`` (per-modality probabilities, NaN where missing, for late fusion).
    dims : dict
        ``audio_dim`` and ``face_dim``.
    """
    corpus = Corpus(resolve_data_root(config))
    sources = {m: Path(config["sources"][m]) for m in SOURCE_MODALITIES}
    tables = {m: _modality_table(sources[m], m, corpus, splits) for m in SOURCE_MODALITIES}
    dims = {}
    for m in ("audio", "face"):
        some = next(e for split in splits for e, _ in tables[m][split].values())
        dims[f"{m}_dim"] = int(len(some))
    inputs = {}
    for split in splits:
        labelled = set(corpus.ids(split, labelled=True))
        ids = sorted(labelled & set().union(*(tables[m][split] for m in SOURCE_MODALITIES)))
        p = len(ids)
        x = {
            "audio_emb": np.zeros((p, dims["audio_dim"]), np.float32),
            "face_emb": np.zeros((p, dims["face_dim"]), np.float32),
            "text_prob": np.zeros((p, 1), np.float32),
            "mask": np.zeros((p, 3), np.float32),
        }
        probs = {m: np.full(p, np.nan) for m in SOURCE_MODALITIES}
        for row, pid in enumerate(ids):
            for col, m in enumerate(SOURCE_MODALITIES):
                entry = tables[m][split].get(pid)
                if entry is None or not np.isfinite(entry[1]):
                    continue
                embedding, prob = entry
                x["mask"][row, col] = 1.0
                probs[m][row] = prob
                if m == "text":
                    x["text_prob"][row, 0] = prob
                else:
                    x[f"{m}_emb"][row] = embedding
        inputs[split] = {
            "ids": np.array(ids, dtype=np.int64),
            "labels": corpus.labels(ids),
            "x": x,
            "probs": probs,
        }
    return inputs, dims


def train_fusion(
    config: dict[str, Any], run_dir: Path, resume: bool = False, progress: bool = True
) -> str:
    """Train (or resume) a fusion run whose ``sources`` name finished runs."""
    run_dir = Path(run_dir)
    seed_everything(config["seed"])
    training = config["training"]
    inputs, dims = fusion_inputs(config, ("train", "dev"))
    train, dev = inputs["train"], inputs["dev"]
    model = FusionNet(
        dims["audio_dim"],
        dims["face_dim"],
        hidden_size=config["model"]["hidden_size"],
        dropout=config["model"]["dropout"],
    )
    device = choose_device(training["device"])
    labels = dict(zip(train["ids"].tolist(), train["labels"].tolist(), strict=True))
    fusion_config = {**config, "data": {**config["data"], **dims}}
    trainer = neural.build_trainer(
        MultimodalFusionTrainer, model, fusion_config, labels, device, run_dir, progress
    )
    batches = {
        split: WindowBatches(
            part["x"],
            part["labels"],
            part["ids"],
            training["batch_size"] if split == "train" else 4096,
            shuffle=split == "train",
            seed=config["seed"],
            device=device,
        )
        for split, part in (("train", train), ("dev", dev))
    }
    with neural.sigterm_requests_stop(trainer):
        trainer.train(
            batches["train"],
            batches["dev"],
            n_epochs=training["max_epochs"],
            resume_from=run_dir / folder.LATEST if resume else None,
        )
    return trainer.status


def load_fusion_run(run_dir: Path) -> tuple[FusionNet, dict[str, Any]]:
    """A fusion run's best model (in eval mode, on the CPU) and its configuration.

    Raises
    ------
    CheckpointError
        The checkpoint is missing or damaged.
    """
    checkpoint = load_checkpoint(Path(run_dir) / folder.BEST, map_location="cpu")
    config = checkpoint["config"]
    model = build_model(config["model"]["class"], config["model"]["init_kwargs"])
    model.load_state_dict(checkpoint["model_state_dict"])
    return model.eval(), config


@torch.no_grad()
def predict_fusion(run_dir: Path, split: str) -> dict[str, Any]:
    """The fusion's and the late-fusion baseline's probabilities on one split."""
    model, config = load_fusion_run(run_dir)
    inputs, _ = fusion_inputs(config, (split,))
    part = inputs[split]
    logits = model(**{k: torch.as_tensor(v) for k, v in part["x"].items()})  # (P, 2)
    return {
        "ids": part["ids"],
        "labels": part["labels"],
        "fusion": torch.softmax(logits, dim=1)[:, 1].numpy(),
        "late_fusion": late_fusion(part["probs"]),
        "modalities": part["probs"],
    }
