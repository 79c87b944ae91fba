"""The shortcut audit: how much of a score the interviewer, or talkativeness, explains.

Text
    The run beside the same configuration trained on the other speakers' words
    (participant only, interviewer only, both), and a length-only baseline: a logistic
    regression on the number of words the participant said, fitted on the training
    participants. All are scored on the same participants, with bootstrap intervals. On
    DAIC-WOZ the interviewer's follow-up prompts leak the label, so an interviewer-only
    model that scores as well as the participant-only one is a warning sign.

Audio and face
    The share of Integrated Gradients attribution (absolute values) that falls inside
    the participant's turns, over a few dev participants. With the default gate only
    participant turns are kept, so the share is (nearly) 1 by construction; with the
    whole session kept it says how much the model leans on time the interviewer speaks.

The variants are trained once, with ``python -m core.train``, into the report's own
folder beside the run (:func:`report_folder`), and reused while their configuration
matches; the run's own folder is never written.
"""

from __future__ import annotations

import copy
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from core.data import DataError
from core.data.text import SPEAKER_CHOICES, participant_document
from core.evaluation.metrics import bootstrap_intervals, participant_metrics
from core.kinds.results import evaluation_key, read_evaluation, split_report
from core.report.inputs import RunInputs
from core.report.predictions import Predictions, common_ids
from core.runs import folder

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
SPEAKERS = ("participant", "interviewer", "both")
LENGTH_BASELINE = "length only (number of participant words)"
ATTRIBUTION_PARTICIPANTS = 4
"""Dev participants whose attributions the audio and face audit explains (it is dear)."""
ATTRIBUTION_FILE = "attribution.json"
COMPARED = ("auroc", "macro_f1")


def report_folder(run_dir: Path) -> Path:
    """The folder a run's report owns: ``<run>.report`` beside the run (never inside it)."""
    run_dir = Path(run_dir)
    return run_dir.parent / f"{run_dir.name}.report"


def variant_config(config: dict[str, Any], speakers: str) -> dict[str, Any]:
    """The run's configuration with only the text's speakers changed."""
    variant = copy.deepcopy(config)
    variant["text"]["speakers"] = speakers
    return variant


def _same_settings(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("modality", "seed", "data", "text")
    return {k: a.get(k) for k in keys} == {k: b.get(k) for k in keys}


def train_variant(config: dict[str, Any], variant_dir: Path) -> Path:
    """Train (or reuse) one text variant in ``variant_dir`` with ``python -m core.train``.

    A folder holding a finished run of the same settings with a current evaluation is
    reused; any other run there is deleted (only the files a run writes) and trained
    again.

    Raises
    ------
    RuntimeError
        Training failed (the message ends with what the command printed).
    """
    if (variant_dir / folder.CONFIG).is_file():
        if _same_settings(folder.read_config(variant_dir), config) and read_evaluation(variant_dir):
            return variant_dir
        from core.runs.manager import delete_run

        delete_run(variant_dir)
    variant_dir.parent.mkdir(parents=True, exist_ok=True)
    config_file = variant_dir.with_name(f"{variant_dir.name}.config.json")
    folder.write_json_atomic(config_file, config)
    command = [sys.executable, "-m", "core.train", "--config", str(config_file)]
    command += ["--run-dir", str(variant_dir), "--quiet"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0 or read_evaluation(variant_dir) is None:
        tail = (done.stdout + done.stderr).strip()[-800:]
        raise RuntimeError(f"training the text variant in {variant_dir} failed: {tail}")
    return variant_dir


def word_counts(corpus: Any, ids: list[int]) -> dict[int, int]:
    """How many words each participant said (their cleaned document); unreadable ones left out."""
    out = {}
    for pid in ids:
        try:
            out[int(pid)] = len(participant_document(corpus.transcript(pid), "participant").split())
        except DataError:
            continue
    return out


def length_baseline(corpus: Any, splits: tuple[str, ...]) -> dict[str, Predictions]:
    """A logistic regression on log(1 + participant words), fitted on the training split.

    Returns
    -------
    dict
        Split to the baseline's predictions of its labelled participants (the training
        split is only fitted on, never returned).

    Raises
    ------
    ValueError
        The training split has fewer than two classes with a transcript.
    """
    train_ids = corpus.ids("train", "text", labelled=True)
    counts = word_counts(corpus, train_ids)
    ids = list(counts)
    labels = corpus.labels(ids)
    if np.unique(labels).size < 2:
        raise ValueError("the training participants with a transcript hold one class only")
    x = np.log1p(np.array([counts[i] for i in ids], dtype=float)).reshape(-1, 1)  # (P, 1)
    model = LogisticRegression(class_weight="balanced").fit(x, labels)
    out = {}
    for split in splits:
        counts = word_counts(corpus, corpus.ids(split, "text", labelled=True))
        if not counts:
            continue
        split_ids = list(counts)
        x = np.log1p(np.array([counts[i] for i in split_ids], dtype=float)).reshape(-1, 1)
        out[split] = Predictions(
            np.array(split_ids, np.int64), corpus.labels(split_ids), model.predict_proba(x)[:, 1]
        )
    return out


def compare_row(name: str, predictions: Predictions, n_boot: int, **extra: Any) -> dict[str, Any]:
    """One row of the audit: AUROC and macro-F1 with their intervals, and the sizes."""
    metrics = participant_metrics(predictions.labels, predictions.probs)
    intervals = bootstrap_intervals(predictions.labels, predictions.probs, n_boot=n_boot)
    row = {"name": name, "n": metrics["n"], "n_depressed": metrics["n_depressed"], **extra}
    for metric in COMPARED:
        value = metrics[metric]
        row[metric] = None if value != value else float(value)
        row[f"{metric}_interval"] = intervals[metric]
    return row


def paired_auroc_difference(
    other: Predictions, reference: Predictions, n_boot: int, seed: int = 0
) -> tuple[float | None, list[float | None]]:
    """AUROC of ``other`` minus that of ``reference`` on the same participants, paired.

    Both are resampled with the same participants each time (a paired bootstrap), so
    the interval reflects the difference, not the two models' separate uncertainties.
    Resamples holding one class are skipped.

    Raises
    ------
    ValueError
        The two do not hold the same participants in the same order.
    """
    from core.report.subgroups import auroc

    if not np.array_equal(other.ids, reference.ids):
        raise ValueError("a paired comparison needs the same participants in the same order")
    value = auroc(other.labels, other.probs) - auroc(reference.labels, reference.probs)
    rng = np.random.default_rng(seed)
    n = len(other.ids)
    draws = []
    for index in rng.integers(0, n, size=(n_boot, n)):  # (n_boot, n) participant indices
        labels = other.labels[index]
        if np.unique(labels).size == 2:
            draws.append(auroc(labels, other.probs[index]) - auroc(labels, reference.probs[index]))
    if value != value or not draws:
        return None, [None, None]
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(value), [float(lo), float(hi)]


def _variant_predictions(
    inputs: RunInputs, train: bool
) -> tuple[dict[str, dict[str, Predictions]], list[str]]:
    """Speakers to split to predictions, for the run and each variant trained (or cached)."""
    own = inputs.config["text"]["speakers"]
    found: dict[str, dict[str, Predictions]] = {own: {}}
    for split in inputs.reports:
        found[own][split] = inputs.predictions(split)
    notes = []
    audit_dir = report_folder(inputs.run_dir) / "audit"
    for speakers in SPEAKERS:
        if speakers == own:
            continue
        variant_dir = audit_dir / f"speakers-{speakers}"
        try:
            if train:
                train_variant(variant_config(inputs.config, speakers), variant_dir)
            saved = read_evaluation(variant_dir) if variant_dir.is_dir() else None
        except (RuntimeError, OSError, ValueError) as error:
            notes.append(f"{speakers} variant: {error}")
            continue
        if saved is None:
            notes.append(f"the {speakers} variant is not trained yet")
            continue
        found[speakers] = {
            split: Predictions.from_report(report)
            for split in inputs.reports
            if (report := split_report(saved, split))
        }
    return found, notes


def text_audit(inputs: RunInputs, n_boot: int = 1000, train: bool = True) -> dict[str, Any]:
    """The text shortcut audit of a text run (see the module's docstring).

    Parameters
    ----------
    inputs : RunInputs
        A text run.
    n_boot : int
        Bootstrap resamples of each row's intervals.
    train : bool, default True
        Train the variants that are missing (about as long as the run took, each);
        False uses only those already trained.

    Returns
    -------
    dict
        ``kind`` ("text"), ``splits`` (per split: ``ids`` (the common participants) and
        ``rows``), ``variant_dirs`` and ``notes``.
    """
    found, notes = _variant_predictions(inputs, train)
    try:
        length = length_baseline(inputs.corpus, tuple(inputs.reports))
    except ValueError as error:
        length, notes = {}, [*notes, f"no length baseline: {error}"]
    own = inputs.config["text"]["speakers"]
    splits = {}
    for split in inputs.reports:
        sets = {
            speakers: by_split[split] for speakers, by_split in found.items() if split in by_split
        }
        if split in length:
            sets[LENGTH_BASELINE] = length[split]
        ids = common_ids(*sets.values())
        rows = []
        for name, predictions in sets.items():
            chosen = predictions.subset(ids)
            if np.unique(chosen.labels).size < 2:
                continue
            if name in SPEAKER_CHOICES:
                label = SPEAKER_CHOICES[name]["label"] + (" - this run" if name == own else "")
                extra = {
                    "speakers": name,
                    "shortcut_prone": SPEAKER_CHOICES[name]["shortcut_prone"],
                }
            else:
                label, extra = name, {"speakers": None, "shortcut_prone": False}
            if "participant" in sets and name != "participant":
                reference = sets["participant"].subset(ids)
                extra["auroc_minus_participant"], extra["auroc_minus_participant_interval"] = (
                    paired_auroc_difference(chosen, reference, n_boot)
                )
            rows.append(compare_row(label, chosen, n_boot, **extra))
        splits[split] = {"ids": [int(i) for i in ids], "rows": rows}
    audit_dir = report_folder(inputs.run_dir) / "audit"
    return {
        "kind": "text",
        "splits": splits,
        "variant_dirs": {s: str(audit_dir / f"speakers-{s}") for s in SPEAKERS if s != own},
        "notes": notes,
    }


def share_inside(explanation: Any) -> float | None:
    """Share of |attribution| at steps inside the participant's turns; None without turns."""
    from core.data.gate import inside

    windows = explanation.windows
    if not len(windows.turns) or not len(windows.x):
        return None
    weight = np.abs(explanation.attribution.values).sum(axis=2)  # (W, T)
    times = windows.times  # (W, T), NaN for padded steps
    real = np.isfinite(times)
    total = float(weight[real].sum())
    if total <= 0:
        return None
    within = inside(times[real].astype(np.float64), windows.turns)
    return float(weight[real][within].sum() / total)


def time_inside(explanation: Any) -> float | None:
    """Share of the windows' real steps that lie inside participant turns (the chance level)."""
    from core.data.gate import inside

    windows = explanation.windows
    times = windows.times[np.isfinite(windows.times)].astype(np.float64)
    if not len(windows.turns) or not len(times):
        return None
    return float(inside(times, windows.turns).mean())


def attribution_audit(
    inputs: RunInputs, n_participants: int = ATTRIBUTION_PARTICIPANTS
) -> dict[str, Any]:
    """The audio or face audit: attribution inside versus outside participant turns.

    Explains the first ``n_participants`` labelled dev participants (Integrated
    Gradients, :mod:`core.explain`), once per best model: the result is kept in the
    report's folder and reused while the run's best model is unchanged.

    Returns
    -------
    dict
        ``kind`` ("attribution"), ``gate``, ``participants`` (``id``, ``share_inside``,
        ``time_inside``, ``windows``), ``mean_share_inside``, ``mean_time_inside``,
        ``features`` (the top features by mean
        attribution share) and ``notes``.
    """
    key = {"version": 2, "model": evaluation_key(inputs.run_dir), "n": int(n_participants)}
    cache = report_folder(inputs.run_dir) / ATTRIBUTION_FILE
    saved = folder.read_json(cache) if cache.is_file() else None
    if isinstance(saved, dict) and saved.get("key") == json.loads(json.dumps(key)):
        return saved["audit"]
    from core.explain.predict import explain_neural_run

    modality = inputs.kind.name
    ids = inputs.corpus.ids("dev", modality, labelled=True)[:n_participants]
    participants, notes = [], []
    shares: dict[str, list[float]] = {}
    for pid in ids:
        try:
            explanation, _ = explain_neural_run(inputs.run_dir, inputs.corpus, pid)
        except (DataError, ValueError) as error:
            notes.append(f"participant {pid}: {error}")
            continue
        participants.append(
            {
                "id": int(pid),
                "share_inside": share_inside(explanation),
                "time_inside": time_inside(explanation),
                "windows": len(explanation.windows),
            }
        )
        for row in explanation.feature_table().itertuples():
            shares.setdefault(row.feature, []).append(float(row.share))
    known = [p["share_inside"] for p in participants if p["share_inside"] is not None]
    times = [p["time_inside"] for p in participants if p["time_inside"] is not None]
    means = {f: float(np.mean(v)) for f, v in shares.items()}
    features = [
        {"feature": f, "share": means[f]} for f in sorted(means, key=lambda f: -means[f])[:15]
    ]
    audit = {
        "kind": "attribution",
        "modality": modality,
        "gate": (inputs.config.get("features") or {}).get("gate"),
        "participants": participants,
        "mean_share_inside": float(np.mean(known)) if known else None,
        "mean_time_inside": float(np.mean(times)) if times else None,
        "features": features,
        "notes": notes,
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    folder.write_json_atomic(cache, {"key": key, "audit": audit})
    return audit
