"""The run-kind registry: one kind per modality, light to import, asked instead of names."""

import subprocess
import sys

import pytest

from core import hparams
from core.config import make_config
from core.kinds import KINDS, best_model_file, get_kind, kind_of, source_modalities
from core.kinds.text import MODEL_INFO
from core.runs import folder


def test_every_modality_has_one_kind_in_the_table_order():
    assert tuple(KINDS) == ("text", "audio", "face", "fusion")
    assert set(KINDS) == set(hparams.modalities())
    assert all(kind.name == name for name, kind in KINDS.items())


def test_fusion_sources_are_the_fusion_model_mask_order():
    from core.kinds.fusion_run import LEGACY_SOURCES as MASK_ORDER

    assert get_kind("fusion").sources == source_modalities() == MASK_ORDER
    assert all(not KINDS[m].sources for m in source_modalities())


def test_a_kind_is_found_by_name_configuration_or_run_folder(tmp_path):
    folder.write_json_atomic(tmp_path / folder.CONFIG, make_config("face", "/corpus"))
    assert get_kind("face") is get_kind({"modality": "face"}) is kind_of(tmp_path)
    with pytest.raises(ValueError, match="unknown modality 'speech'"):
        get_kind("speech")


def test_only_kinds_with_epochs_resume():
    with pytest.raises(ValueError, match="text runs have no epochs to resume"):
        get_kind("text").check_resumable({})
    for name in ("audio", "face", "fusion"):
        get_kind(name).check_resumable({})


def test_each_kind_names_the_file_of_its_best_model(tmp_path):
    text, audio = tmp_path / "text", tmp_path / "audio"
    for run_dir, modality in ((text, "text"), (audio, "audio")):
        run_dir.mkdir()
        folder.write_json_atomic(run_dir / folder.CONFIG, make_config(modality, "/corpus"))
        assert best_model_file(run_dir) is None
    folder.write_json_atomic(text / MODEL_INFO, {"file": "text_model.skops"})
    (text / "text_model.skops").write_bytes(b"pipeline")
    (audio / folder.BEST).write_bytes(b"model")
    assert best_model_file(text) == text / "text_model.skops"
    assert best_model_file(audio) == audio / folder.BEST
    assert get_kind("audio").model_file(audio, "latest") is None
    assert best_model_file(tmp_path / "no-run") is None


@pytest.mark.slow
def test_the_registry_imports_neither_torch_nor_scikit_learn():
    code = (
        "import sys, core.kinds, core.runs_table; "
        "print(sorted({'torch', 'sklearn'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
