"""Run configurations: what a run was asked to do, as plain JSON-ready values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core import hparams

CONFIG_VERSION = 1


def make_config(
    modality: str,
    data_root: str | Path | None = None,
    values: dict[str, Any] | None = None,
    seed: int = 0,
    sources: dict[str, str | None] | None = None,
    assignment: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """Build a validated run configuration.

    Parameters
    ----------
    modality : {"text", "audio", "face", "fusion"}
        What to train.
    data_root : str or pathlib.Path, optional
        Corpus root; None means the bundled synthetic sample.
    values : dict, optional
        Hyper-parameters by name (see :mod:`core.hparams`); missing ones take defaults.
    seed : int, default 0
        The run's one seed.
    sources : dict, optional
        Only for a kind trained on other runs (fusion):
        ``{"audio": run_dir, "face": run_dir, "text": run_dir}``, None meaning "the best
        finished run"; stored as the configuration's ``sources``.

    Returns
    -------
    dict
        ``{"version", "modality", "seed", "data": {"root"}, <sections>...}``.

    Raises
    ------
    ValueError
        An unknown modality or hyper-parameter, or a value out of range.
    """
    config: dict[str, Any] = {
        "version": CONFIG_VERSION,
        "modality": modality,
        "seed": int(seed),
        "data": {"root": str(Path(data_root).expanduser().resolve()) if data_root else None},
        **hparams.resolve(modality, dict(values or {})),
    }
    if assignment is not None:
        config["data"]["assignment"] = {
            split: sorted(int(i) for i in assignment.get(split, [])) for split in ("train", "dev")
        }
    if sources is not None:  # only kinds trained on other runs are given any
        config["sources"] = {k: (str(v) if v else None) for k, v in sources.items()}
    return config


def resolve_data_root(config: dict[str, Any]) -> Path:
    """The corpus root of a configuration, generating the bundled sample if it is named."""
    root = config["data"].get("root")
    if root:
        return Path(root)
    from core.data.sample import ensure_sample

    return ensure_sample()


def open_corpus(config: dict[str, Any]) -> Any:
    """The corpus a run configuration trains on, with its split assignment applied.

    Every part of a run that asks which participants are training, validation or test
    participants opens the corpus here, so a cross-validation fold's run
    (``data.assignment``) is trained, early-stopped and evaluated on its own fold.

    Returns
    -------
    core.data.Corpus
        The corpus; for a fold, its train and dev splits are the fold's.

    Raises
    ------
    core.data.DataError
        The corpus cannot be opened or the assignment names a participant it cannot use.
    """
    from core.data import Corpus

    corpus = Corpus(resolve_data_root(config))
    if assignment := (config.get("data") or {}).get("assignment"):
        corpus.assign(assignment)
    return corpus
