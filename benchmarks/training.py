"""Time one training epoch of our trainer against a bare loop and a seed-style loop.

Usage::

    python benchmarks/training.py [--json] [--modality audio|face] [--windows N]
                                  [--epochs E] [--device auto|cpu|cuda] [--amp] [--seed S]

Synthetic windows shaped like our defaults (audio ``(N, 80, 74)``: 8 s at 10 Hz of 74
COVAREP features; face ``(N, 40, 38)``: 8 s at 5 Hz of 20 AUs, 6 pose and 12 gaze
features), ``N`` training windows and ``0.3 N`` validation windows, about 30 windows per
participant and one label per participant. Every contender trains the same model
(``AudioRNN(74, 64, 1, 0.3)`` or ``FaceSTRNN(38, 64, 1, 2, 0.3)``), built from the same
seed, with batch 32, ``Adam(lr=1e-3, weight_decay=1e-4)``, ``CrossEntropyLoss`` weighted by
participant class counts, gradient clipping at 1.0 for audio only (the ``grad_clip``
default), the same shuffled batch order where the loader allows, and the same
validation compute (batches of 512 windows, loss, window probabilities, participant-level
metrics from :func:`core.training.trainers.participant_validation_metrics`).

The contenders, and what one of their epochs includes:

ours
    :class:`~core.training.trainers.AudioRNNTrainer` or
    :class:`~core.training.trainers.WindowClassifierTrainer` over
    :class:`~core.training.batches.WindowBatches` (data on the device once), built as
    :func:`core.kinds.neural_run.train_neural` builds it: a temporary run folder, the
    ``stop.request`` file check before every batch, :class:`RunFolderWriter`
    (``metrics.jsonl`` and ``status.json``, fsynced), the tqdm bar, the LR scheduler,
    the early-stopping decision (patience 0, so every epoch runs) and the atomic,
    fsynced ``latest_checkpoint.pth`` every epoch plus ``best_model.pth`` whenever the
    validation loss improves (the table says how often it did).
bare
    The floor: the same data already on the device, a ``randperm`` order sliced by hand,
    forward, loss, backward, clipping, step, the loss summed on the device (one sync per
    epoch), then the same validation. No files, no callbacks, no progress bar.
seed-style
    The loop of the seed codebase: ``DataLoader`` over a ``TensorDataset`` of CPU
    tensors (``shuffle=True``), ``tqdm`` over the batches, ``.to(device)`` per batch,
    ``loss.item()`` per batch, then the same validation through a second ``DataLoader``.
    No checkpoint or run-folder files.

Each contender runs one warm-up epoch and then ``E`` timed epochs; the figures are
medians. The contenders alternate epoch by epoch (a callback on our trainer runs the
other two between our epochs, outside our clock) so that load from other processes hits
all three alike, and each contender keeps its own global RNG state, so ours and bare
should report the same first-epoch training loss (the seed-style loader draws its own
order). With ``--amp`` on CUDA all three use autocast and a gradient scaler; on CUDA the
figures also include our trainer's throughput with and without mixed precision. With
``--json`` the last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.config import make_config  # noqa: E402
from core.data.features import Normaliser  # noqa: E402
from core.kinds.callbacks import RunFolderWriter  # noqa: E402
from core.models import AudioRNN, FaceSTRNN  # noqa: E402
from core.runs import folder  # noqa: E402
from core.training.batches import WindowBatches  # noqa: E402
from core.training.callbacks import Callback  # noqa: E402
from core.training.device import choose_device, seed_everything  # noqa: E402
from core.training.trainers import (  # noqa: E402
    AudioRNNTrainer,
    WindowClassifierTrainer,
    class_weights_from_participants,
    participant_validation_metrics,
)

SHAPES = {"audio": (80, 74), "face": (40, 38)}  # (T, F) of one window
MAX_GRAD_NORM = {"audio": 1.0, "face": None}  # the grad_clip default applies to audio only
BATCH, VAL_BATCH = 32, 512  # training batch (hparams default), validation as in neural.py
LR, WEIGHT_DECAY = 1e-3, 1e-4
WINDOWS_PER_PARTICIPANT = 30
TARGET_RATIO = 1.10


# --- Data and models ---------------------------------------------------------------------


@dataclass
class Split:
    """Windows ``x`` (N, T, F) float32, labels ``y`` (N,) and participant IDs (N,)."""

    x: np.ndarray
    y: np.ndarray
    participant_ids: np.ndarray


def make_split(n_windows: int, modality: str, rng: np.random.Generator, first_id: int) -> Split:
    """Synthetic, learnable windows: a third of the participants are depressed."""
    n_steps, n_features = SHAPES[modality]
    n_participants = max(2, round(n_windows / WINDOWS_PER_PARTICIPANT))
    slot = np.arange(n_windows) * n_participants // n_windows  # (N,) ~30 windows each
    labels = (np.arange(n_participants) % 3 == 0).astype(np.int64)  # one per participant
    y = labels[slot]  # (N,)
    x = rng.standard_normal((n_windows, n_steps, n_features), dtype=np.float32)  # (N, T, F)
    x[:, :, :8] += 0.3 * y[:, None, None]  # a weak signal in eight features
    return Split(x, y, first_id + slot)


def build_parts(
    modality: str, train: Split, seed: int
) -> tuple[nn.Module, nn.Module, torch.optim.Optimizer]:
    """Model, weighted loss and optimizer, seeded the same way for every contender."""
    seed_everything(seed)
    n_features = SHAPES[modality][1]
    if modality == "audio":
        model: nn.Module = AudioRNN(n_features, 64, 1, 0.3)
    else:
        model = FaceSTRNN(n_features, 64, 1, 2, 0.3)
    labels = dict(zip(train.participant_ids.tolist(), train.y.tolist(), strict=True))
    criterion = nn.CrossEntropyLoss(weight=class_weights_from_participants(labels))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    return model, criterion, optimizer


def logits_of(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The (B, 2) logits, through the models' shared ``logits`` method."""
    return model.logits(x)  # (B, 2)


# --- Shared plumbing: RNG per contender, clocks ------------------------------------------


def _rng_state() -> list[torch.Tensor]:
    states = [torch.get_rng_state()]
    if torch.cuda.is_available():
        states += torch.cuda.get_rng_state_all()
    return states


def swap_rng(state: list[torch.Tensor]) -> list[torch.Tensor]:
    """Install ``state`` as the global torch RNG state; return the one it replaces."""
    previous = _rng_state()
    torch.set_rng_state(state[0])
    if len(state) > 1:
        torch.cuda.set_rng_state_all(state[1:])
    return previous


def make_sync(device: torch.device) -> Callable[[], None]:
    """Wait for queued GPU work before reading the clock (no-op on the CPU)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


class Loop:
    """A contender we drive ourselves: ``epoch()`` trains and validates once.

    Parameters
    ----------
    name : str
        Shown in the table.
    parts : tuple
        Model, loss and optimizer from :func:`build_parts`.
    val : Split
        Validation windows (their participant IDs are needed for the metrics).
    settings : dict
        ``device``, ``amp``, ``seed``, ``sync``, ``max_grad_norm`` and ``drop_last``.
    """

    def __init__(self, name: str, parts: tuple, val: Split, settings: dict[str, Any]) -> None:
        self.name = name
        self.rng = _rng_state()  # taken right after the model was built
        self.model, self.criterion, self.optimizer = parts
        self.device, self.amp, self.sync = settings["device"], settings["amp"], settings["sync"]
        self.model.to(self.device)
        self.criterion.to(self.device)
        self.max_grad_norm, self.drop_last = settings["max_grad_norm"], settings["drop_last"]
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.val_ids = val.participant_ids
        self.times: list[float] = []
        self.train_losses: list[float] = []

    def epoch(self) -> float:
        """Train one pass and validate; return the mean training loss."""
        raise NotImplementedError

    def timed_epoch(self) -> None:
        """Run :meth:`epoch` with this contender's RNG state and record its duration."""
        outer = swap_rng(self.rng)
        self.sync()
        started = time.perf_counter()
        self.train_losses.append(self.epoch())
        self.sync()
        self.times.append(time.perf_counter() - started)
        self.rng = swap_rng(outer)

    def autocast(self) -> Any:
        """Autocast on the device when AMP is on, else a no-op context."""
        return torch.autocast(self.device.type, enabled=self.amp)

    def step(self, loss: torch.Tensor) -> None:
        """Backward, clipping, step: the work of ``BaseTrainer.optimizer_step``."""
        self.optimizer.zero_grad(set_to_none=True)
        if not self.amp:
            loss.backward()
            if self.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
            self.optimizer.step()
            return
        self.scaler.scale(loss).backward()
        if self.max_grad_norm is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()


# --- The contenders ----------------------------------------------------------------------


class BareLoop(Loop):
    """Hand-sliced batches of data already on the device, then the same validation."""

    def __init__(self, parts: tuple, train: Split, val: Split, settings: dict[str, Any]) -> None:
        super().__init__("bare", parts, val, settings)
        self.x = torch.as_tensor(train.x, device=self.device)  # (N, T, F)
        self.y = torch.as_tensor(train.y, device=self.device)  # (N,)
        self.val_x = torch.as_tensor(val.x, device=self.device)  # (M, T, F)
        self.val_y = torch.as_tensor(val.y, device=self.device)  # (M,)
        self.generator = torch.Generator().manual_seed(settings["seed"])  # as WindowBatches

    def epoch(self) -> float:  # noqa: D102
        self.model.train()
        n = len(self.y)
        end = n - n % BATCH if self.drop_last else n
        order = torch.randperm(n, generator=self.generator).to(self.device)  # (N,)
        total = torch.zeros((), device=self.device)
        for start in range(0, end, BATCH):
            idx = order[start : start + BATCH]  # (B,)
            xb, yb = self.x[idx], self.y[idx]  # (B, T, F), (B,)
            with self.autocast():
                loss = self.criterion(logits_of(self.model, xb), yb)
            self.step(loss)
            total += loss.detach().float() * len(yb)
        train_loss = (total / end).item()
        self.validate()
        return train_loss

    @torch.no_grad()
    def validate(self) -> tuple[float, dict[str, Any]]:
        """Loss and participant-level metrics over the validation windows."""
        self.model.eval()
        total = torch.zeros((), device=self.device)
        probs = []
        for start in range(0, len(self.val_y), VAL_BATCH):
            xb = self.val_x[start : start + VAL_BATCH]  # (B, T, F) view
            yb = self.val_y[start : start + VAL_BATCH]  # (B,)
            with self.autocast():
                logits = logits_of(self.model, xb).float()  # (B, 2)
            total += self.criterion(logits, yb).float() * len(yb)
            probs.append(torch.softmax(logits, dim=1)[:, 1])  # (B,)
        val_loss = (total / len(self.val_y)).item()
        window_probs = torch.cat(probs).cpu().numpy()
        labels = self.val_y.cpu().numpy()
        return val_loss, participant_validation_metrics(self.val_ids, window_probs, labels)


class SeedStyleLoop(Loop):
    """DataLoader over CPU tensors, tqdm per batch, ``.to(device)`` and ``.item()`` per batch."""

    def __init__(self, parts: tuple, train: Split, val: Split, settings: dict[str, Any]) -> None:
        super().__init__("seed-style", parts, val, settings)
        self.train_loader = DataLoader(
            TensorDataset(torch.from_numpy(train.x), torch.from_numpy(train.y)),
            batch_size=BATCH,
            shuffle=True,
            drop_last=self.drop_last,
            generator=torch.Generator().manual_seed(settings["seed"]),
        )
        self.val_loader = DataLoader(
            TensorDataset(torch.from_numpy(val.x), torch.from_numpy(val.y)),
            batch_size=VAL_BATCH,
            shuffle=False,
        )

    def epoch(self) -> float:  # noqa: D102
        self.model.train()
        running, seen = 0.0, 0
        for xb, yb in tqdm(self.train_loader, desc="seed-style", leave=False):
            xb, yb = xb.to(self.device), yb.to(self.device)  # (B, T, F), (B,)
            with self.autocast():
                loss = self.criterion(logits_of(self.model, xb), yb)
            self.step(loss)
            running += loss.item() * len(yb)
            seen += len(yb)
        self.validate()
        return running / seen

    @torch.no_grad()
    def validate(self) -> tuple[float, dict[str, Any]]:
        """Loss and participant-level metrics, one ``.item()`` per batch."""
        self.model.eval()
        running, probs, labels = 0.0, [], []
        for xb, yb in self.val_loader:
            xb, yb = xb.to(self.device), yb.to(self.device)  # (B, T, F), (B,)
            with self.autocast():
                logits = logits_of(self.model, xb).float()  # (B, 2)
            running += self.criterion(logits, yb).item() * len(yb)
            probs.append(torch.softmax(logits, dim=1)[:, 1].cpu())  # (B,)
            labels.append(yb.cpu())
        window_probs, window_labels = torch.cat(probs).numpy(), torch.cat(labels).numpy()
        metrics = participant_validation_metrics(self.val_ids, window_probs, window_labels)
        return running / len(window_labels), metrics


class Interleave(Callback):
    """Times our epochs from hook to hook and runs the other contenders between them.

    Our epoch ``k`` is timed from the end of ``on_epoch_begin(k)`` to the start of
    ``on_epoch_begin(k + 1)`` (or of ``on_train_end``), so it includes the trainer's
    checkpoints and every other callback. Being first in the callback list, this one's
    ``on_train_end`` runs before the run folder's final status is written.

    Parameters
    ----------
    others : sequence of Loop
        Run once each before every one of our epochs, in alternating order.
    sync : callable
        Called before reading the clock.
    """

    def __init__(self, others: Sequence[Loop], sync: Callable[[], None]) -> None:
        self.others, self.sync = list(others), sync
        self.rng = _rng_state()  # taken right after our model was built
        self.times: list[float] = []
        self._started: float | None = None

    def on_train_begin(self, trainer: Any) -> None:  # noqa: D102
        swap_rng(self.rng)

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:  # noqa: D102
        self._stop_clock()
        self.rng = _rng_state()
        for other in self.others if epoch % 2 else reversed(self.others):
            other.timed_epoch()
        swap_rng(self.rng)
        self.sync()
        self._started = time.perf_counter()

    def on_train_end(self, trainer: Any) -> None:  # noqa: D102
        self._stop_clock()

    def _stop_clock(self) -> None:
        if self._started is not None:
            self.sync()
            self.times.append(time.perf_counter() - self._started)
            self._started = None


def run_ours(
    modality: str,
    train: Split,
    val: Split,
    settings: dict[str, Any],
    others: Sequence[Loop],
    amp: bool,
) -> tuple[Interleave, list[dict[str, Any]]]:
    """Train our trainer for 1 + ``epochs`` epochs, the other contenders interleaved."""
    device, seed = settings["device"], settings["seed"]
    model, criterion, optimizer = build_parts(modality, train, seed)
    clock = Interleave(others, settings["sync"])
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        run_dir = Path(tmp)
        config = make_config(modality, seed=seed)
        config["data"].update(
            feature_names=[f"f{i}" for i in range(train.x.shape[2])],
            normaliser=Normaliser().fit([train.x.reshape(-1, train.x.shape[2])]).to_dict(),
            n_train_windows=len(train.y),
            n_dev_windows=len(val.y),
        )
        trainer_class = AudioRNNTrainer if modality == "audio" else WindowClassifierTrainer
        trainer = trainer_class(
            model,
            criterion,
            optimizer,
            device,
            patience=0,  # no early stopping: every requested epoch runs
            run_dir=run_dir,
            config=config,
            callbacks=[clock, RunFolderWriter(run_dir)],
            stop_check=(run_dir / folder.STOP_REQUEST).exists,  # as train_neural does
            amp=amp,
            progress=True,
            max_grad_norm=settings["max_grad_norm"],
        )
        train_batches = WindowBatches(
            train.x,
            train.y,
            train.participant_ids,
            BATCH,
            shuffle=True,
            seed=seed,
            device=device,
            drop_last=settings["drop_last"],
        )
        val_batches = WindowBatches(
            val.x, val.y, val.participant_ids, VAL_BATCH, shuffle=False, device=device
        )
        history = trainer.train(train_batches, val_batches, n_epochs=1 + settings["epochs"])
    return clock, history


# --- Measuring and reporting -------------------------------------------------------------


def summarise(times: Sequence[float], n_windows: int) -> dict[str, Any]:
    """Median, spread and throughput of the timed epochs (the warm-up dropped)."""
    timed = list(times[1:])
    median = statistics.median(timed)
    return {
        "s": median,
        "min_s": min(timed),
        "max_s": max(timed),
        "windows_per_s": n_windows / median,
        "epochs_s": [round(t, 4) for t in timed],
    }


def benchmark(
    modality: str, n_windows: int, epochs: int, device_name: str, amp: bool, seed: int
) -> dict[str, Any]:
    """Run the three contenders and return the figures as plain values."""
    device = choose_device(device_name)
    use_amp = amp and device.type == "cuda"
    rng = np.random.default_rng(seed)
    train = make_split(n_windows, modality, rng, first_id=1000)
    val = make_split(max(2, round(0.3 * n_windows)), modality, rng, first_id=5000)
    settings = {
        "device": device,
        "amp": use_amp,
        "seed": seed,
        "epochs": epochs,
        "sync": make_sync(device),
        "max_grad_norm": MAX_GRAD_NORM[modality],
        "drop_last": modality == "face" and n_windows > BATCH,  # as train_neural does
    }
    bare = BareLoop(build_parts(modality, train, seed), train, val, settings)
    seed_style = SeedStyleLoop(build_parts(modality, train, seed), train, val, settings)
    clock, history = run_ours(modality, train, val, settings, [bare, seed_style], use_amp)
    stats = {
        "ours": summarise(clock.times, n_windows),
        "bare": summarise(bare.times, n_windows),
        "seed_style": summarise(seed_style.times, n_windows),
    }
    result: dict[str, Any] = {
        "modality": modality,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "amp": use_amp,
        "windows": n_windows,
        "val_windows": len(val.y),
        "window_shape": list(SHAPES[modality]),
        "batch_size": BATCH,
        "timed_epochs": epochs,
        "ours_s": stats["ours"]["s"],
        "bare_s": stats["bare"]["s"],
        "seed_style_s": stats["seed_style"]["s"],
        "ratio_ours_bare": stats["ours"]["s"] / stats["bare"]["s"],
        "ratio_ours_seed": stats["ours"]["s"] / stats["seed_style"]["s"],
        "target_ratio_ours_bare": TARGET_RATIO,
        "first_epoch_train_loss": {
            "ours": history[0]["train_loss"],
            "bare": bare.train_losses[0],
            "seed_style": seed_style.train_losses[0],
        },
        "best_checkpoint_epochs": [r["epoch"] for r in history if r["improved"]],
        "details": stats,
    }
    if device.type == "cuda":
        other, _ = run_ours(modality, train, val, settings, [], not use_amp)
        other_rate = summarise(other.times, n_windows)["windows_per_s"]
        rates = {use_amp: stats["ours"]["windows_per_s"], not use_amp: other_rate}
        result["throughput_fp32"], result["throughput_amp"] = rates[False], rates[True]
    return result


def print_table(result: dict[str, Any]) -> None:
    """Print the side-by-side table of one benchmark run."""
    print(
        f"\nOne training epoch, {result['modality']}: {result['windows']} train + "
        f"{result['val_windows']} val windows of shape {tuple(result['window_shape'])}, batch "
        f"{result['batch_size']}, {result['device']} ({result['threads']} threads"
        f"{', AMP' if result['amp'] else ''}); median of {result['timed_epochs']} epochs "
        "after a warm-up epoch"
    )
    header = f"{'contender':<12}{'s/epoch':>9}{'min-max s':>15}{'windows/s':>11}{'ours/this':>11}"
    print(header + f"{'epoch-1 train loss':>21}")
    print("-" * (len(header) + 21))
    for key, label in (("ours", "ours"), ("bare", "bare"), ("seed_style", "seed-style")):
        row = result["details"][key]
        spread = f"{row['min_s']:.3f}-{row['max_s']:.3f}"
        print(
            f"{label:<12}{row['s']:>9.3f}{spread:>15}{row['windows_per_s']:>11.0f}"
            f"{result['ours_s'] / row['s']:>11.3f}"
            f"{result['first_epoch_train_loss'][key]:>21.6f}"
        )
    verdict = "meets" if result["ratio_ours_bare"] <= TARGET_RATIO else "MISSES"
    print(
        f"ours/bare = {result['ratio_ours_bare']:.3f} ({verdict} the <= {TARGET_RATIO:.2f} "
        f"target); ours/seed-style = {result['ratio_ours_seed']:.3f}"
    )
    print(f"best_model.pth written after epochs {result['best_checkpoint_epochs']}")
    print(
        "windows/s: training windows per second of a whole epoch (training, validation and\n"
        "  whatever else the contender does once per epoch). ours: trainer + WindowBatches,\n"
        "  stop-file check per batch, metrics.jsonl + status.json, latest (+ best) checkpoint,\n"
        "  tqdm per epoch. bare: hand-sliced device tensors, nothing else. seed-style:\n"
        "  DataLoader of CPU tensors, tqdm per batch, .to(device) and .item() per batch.\n"
        "  All three: same model, seed, optimizer, loss, clipping, validation and metrics."
    )
    if "throughput_fp32" in result:
        print(
            f"ours on CUDA: {result['throughput_fp32']:.0f} windows/s fp32, "
            f"{result['throughput_amp']:.0f} windows/s AMP"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--modality", choices=("audio", "face"), default="audio")
    parser.add_argument("--windows", type=int, default=2000, help="training windows")
    parser.add_argument("--epochs", type=int, default=8, help="timed epochs after a warm-up")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.windows < 2 * BATCH or args.epochs < 1:
        parser.error(f"--windows must be at least {2 * BATCH} and --epochs at least 1")
    try:
        choose_device(args.device)
    except ValueError as exc:
        parser.error(str(exc))
    result = benchmark(args.modality, args.windows, args.epochs, args.device, args.amp, args.seed)
    print_table(result)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
