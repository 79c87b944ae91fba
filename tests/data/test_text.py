from __future__ import annotations

import pandas as pd
import pytest

from core.data import formats
from core.data.corpus import Corpus
from core.data.text import SPEAKER_CHOICES, clean, documents, participant_document


def transcript() -> pd.DataFrame:
    rows = [
        (0.0, 1.0, "Ellie", "ellieopening how are you doing today"),
        (1.0, 2.0, "Participant", "<sync> I'm  [laughter] FINE xxx"),
        (2.0, 3.0, "Ellie", "elliefollowup that sounds really hard"),
        (3.0, 4.0, "Participant", "i feel tired <laughter> scrubbed_entry all the time"),
    ]
    return pd.DataFrame(rows, columns=list(formats.TRANSCRIPT_COLUMNS))


def test_clean_removes_markers_and_normalises():
    assert clean("<sync> Hello [Laughter]  WORLD\t xxx scrubbed_entry <other thing>") == (
        "hello world"
    )
    assert clean("[sigh] ok [unintelligible words] fine") == "ok fine"
    assert clean("xxx.") == "."  # punctuation is left to the tokenizer
    assert clean("boxxxer") == "boxxxer"  # only the whole token xxx


def test_default_document_is_participant_only():
    doc = participant_document(transcript())
    assert doc == "i'm fine i feel tired all the time"
    ellie_words = set(" ".join(transcript()["value"][transcript()["speaker"] == "Ellie"]).split())
    participant_words = set(doc.split())
    assert not ellie_words - {"how", "are", "you", "that"} & participant_words
    assert "ellieopening" not in doc and "elliefollowup" not in doc


def test_interviewer_variants_are_opt_in_and_labelled_shortcut_prone():
    assert SPEAKER_CHOICES["participant"]["shortcut_prone"] is False
    assert SPEAKER_CHOICES["interviewer"]["shortcut_prone"] is True
    assert SPEAKER_CHOICES["both"]["shortcut_prone"] is True
    assert "leak" in SPEAKER_CHOICES["interviewer"]["note"]
    interviewer = participant_document(transcript(), "interviewer")
    assert interviewer.startswith("ellieopening") and "tired" not in interviewer
    both = participant_document(transcript(), "both")
    assert both.split()[0] == "ellieopening" and "tired" in both  # transcript order
    with pytest.raises(ValueError, match="speakers"):
        participant_document(transcript(), "ellie")


def test_documents_from_a_corpus_never_contain_interviewer_words(tmp_path):
    columns = formats.TRAIN_DEV_LABEL_COLUMNS
    (tmp_path / formats.TRAIN_LABELS).write_text(
        ",".join(columns) + "\n900,0,2,1,0,0,0,0,0,0,0,0\n901,1,14,0,2,2,2,2,2,2,1,1\n"
    )
    for pid in (900, 901):
        folder = tmp_path / f"{pid}_P"
        folder.mkdir()
        (folder / f"{pid}_TRANSCRIPT.csv").write_text(
            "start_time\tstop_time\tspeaker\tvalue\n"
            f"0.0\t1.0\tEllie\tq{pid} (ellieprompt{pid} question)\n"
            f"1.0\t2.0\tParticipant\tanswer{pid} <sync>\n"
            f"2.0\t3.0\tEllie\tellieagain{pid}\n"
        )
    corpus = Corpus(tmp_path)
    docs = documents(corpus, [901, 900])
    assert docs == ["answer901", "answer900"]
    assert all("ellie" not in d for d in docs)
    assert documents(corpus, [900], "interviewer") == ["ellieprompt900 question ellieagain900"]
