"""Experiment specs: the issue's example as written, and every error naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.experiment import ExperimentSpec, SpecError, load_spec, spec_from_dict

README_SPEC = """\
name = "audio-hidden-size"
modality = "audio"
objective = "macro_f1"
protocol = "cv"
folds = 3
seeds = [0, 1]
sampler = "grid"

[fixed]
max_epochs = 20

[search]
hidden_size = [32, 64]
# a range: lr = { low = 1e-4, high = 1e-2, log = true } (with sampler "tpe" or "random" and trials = N)
"""  # noqa: E501 - the issue's example as written, its comment included


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issue_example_loads_as_written(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, README_SPEC))
    assert isinstance(spec, ExperimentSpec)
    assert (spec.name, spec.modality, spec.objective) == ("audio-hidden-size", "audio", "macro_f1")
    assert (spec.protocol, spec.folds, spec.seeds) == ("cv", 3, (0, 1))
    assert spec.fixed == {"max_epochs": 20}
    assert spec.search == {"hidden_size": [32, 64]}
    assert spec.trials == 2  # the grid's size
    assert spec.direction == "maximize"
    assert spec_from_dict(spec.to_dict()) == ExperimentSpec(
        **{**spec.__dict__, "source": "<screen>"}
    )


def test_ranges_with_tpe_and_val_loss_minimised() -> None:
    spec = spec_from_dict(
        {
            "name": "lr-sweep",
            "modality": "face",
            "objective": "val_loss",
            "sampler": "tpe",
            "trials": 5,
            "search": {"lr": {"low": 1e-4, "high": 1e-2, "log": True}, "num_layers": [1, 2]},
        }
    )
    assert spec.search["lr"] == {"low": 1e-4, "high": 1e-2, "log": True}
    assert spec.direction == "minimize"
    assert spec.protocol == "dev" and spec.folds is None


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"search": {"hiden_size": [8]}}, "search.hiden_size", "no hyper-parameter"),
        ({"search": {"hidden_size": [8, 512]}}, "search.hidden_size", "outside"),
        ({"fixed": {"max_epochs": 0}}, "fixed.max_epochs", "outside"),
        ({"fixed": {"ngram_max": 2}}, "fixed.ngram_max", "audio runs do not take"),
        ({"sampler": "bayes"}, "sampler", "grid, random, tpe"),
        ({"protocol": "loo"}, "protocol", "dev, cv"),
        ({"objective": "accuracy"}, "objective", "macro_f1, auroc, val_loss"),
        ({"folds": None}, "folds", "needs folds"),
        ({"search": {"lr": {"low": 1e-4, "high": 1e-2}}}, "search.lr", "random' or 'tpe"),
        ({"sampler": "random"}, "trials", "needs trials"),
        (
            {"sampler": "random", "trials": 2, "search": {"lr": {"low": 1.0, "high": 2.0}}},
            "search.lr.low",
            "outside",
        ),
        ({"seeds": [0, 0]}, "seeds", "repeated"),
        ({"seeds": "0"}, "seeds", "list"),
        ({"name": "../up"}, "name", "names a folder"),
        ({"modality": "fusion"}, "modality", "text, audio, face"),
        ({"epochs": 3}, "epochs", "unknown key"),
        (
            {"search": {"hidden_size": [8]}, "fixed": {"hidden_size": 8}},
            "search.hidden_size",
            "fixed or searched",
        ),
        ({"trials": 3}, "trials", "more than the grid"),
    ],
)
def test_a_bad_spec_names_the_file_and_the_key(
    tmp_path: Path, change: dict, key: str, words: str
) -> None:
    data = {
        "name": "x",
        "modality": "audio",
        "protocol": "cv",
        "folds": 3,
        "search": {"hidden_size": [8, 16]},
        **change,
    }
    data = {k: v for k, v in data.items() if v is not None}
    lines = [f"{k} = {_toml(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for table in ("fixed", "search"):
        if table in data:
            lines.append(f"[{table}]")
            lines += [f"{k} = {_toml(v)}" for k, v in data[table].items()]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert words in message


def _toml(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def test_a_file_that_is_not_toml_or_missing(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"spec.toml: not valid TOML"):
        load_spec(_write(tmp_path, "name = \n"))
    with pytest.raises(SpecError, match=r"nope.toml: cannot read"):
        load_spec(tmp_path / "nope.toml")


def _million_grid() -> dict:
    """A grid of 100 x 100 x 100 configurations, trials left out."""
    return {
        "name": "huge",
        "modality": "audio",
        "search": {
            "hidden_size": list(range(8, 108)),
            "dropout": [i / 200 for i in range(100)],
            "lr": [1e-4 * (1 + i / 100) for i in range(100)],
        },
    }


def test_a_grid_above_the_limit_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from core.experiment.folder import create

    with pytest.raises(SpecError) as caught:
        spec_from_dict(_million_grid(), source="the form")
    message = str(caught.value)
    assert message.startswith("the form: search: ") and "1,000,000" in message
    assert "trials = N" in message
    # A few of its configurations are fine.
    assert spec_from_dict({**_million_grid(), "trials": 50}).trials == 50
    # A spec built in code is checked by create with the same rule, before writing.
    built = ExperimentSpec(**{**spec_from_dict({**_million_grid(), "trials": 50}).__dict__})
    huge = ExperimentSpec(**{**built.__dict__, "trials": 1_000_000})
    out = tmp_path / "experiments" / "huge"
    with pytest.raises(SpecError, match="trials"):
        create(huge, out=out)
    assert not out.exists()
