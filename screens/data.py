"""Data page: what the corpus holds per split, its problems, and one participant's session.

Top to bottom: split metrics, PHQ-8 score histograms and gender counts; the problems
table (a quick view from the label files and the session index, or the full check that
reads every file); one participant's transcript, speech features and facial action
units over time with the participant's turns shaded.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data import DataError, formats
from core.data.check import check_corpus
from core.data.overview import (
    DISPLAY_RATE_HZ,
    gender_counts,
    participant_label,
    problem_rows,
    readable_participants,
    score_histogram,
    speaking_summary,
    split_summary,
    transcript_view,
    turn_spans,
)
from ui.common import MISSING, corpus_stamp, no_corpus_text, page_corpus, text_alert
from ui.data_cache import (
    check_reports,
    participant_table,
    session_audio,
    session_face,
    session_transcript,
)
from ui.data_check import check_progress_text, full_check_text, quick_view_text
from ui.data_figures import TURN_FILL, gender_figure, score_histogram_figure, signals_figure

AUDIO_DEFAULT = ["F0", "VUV", "NAQ", "H1H2"]
FACE_DEFAULT = ["AU12_r", "AU04_r", "AU06_r"]
FACE_OPTIONS = ["face_found", *formats.AU_COLUMNS[:14]]  # the intensities (_r), not _c

# --- Widgets (each returns plain values) ------------------------------------------------


def full_check_ui(root: str, stamp: float, known: int) -> dict | None:
    """The "Run full check" button; return the latest full report of this corpus, if any.

    While the check runs, a progress bar and, below it, what was found so far (starting
    from ``known``, the problems of the label files and index): never "No problems
    found" before every session has been read.
    """
    reports = check_reports()
    clicked = st.button(
        "Run full check",
        key="data_run_check",
        help="Reads every session file (minutes on the real corpus) and lists each problem.",
    )
    if clicked:
        bar = st.progress(0.0, text="Reading every session file")
        so_far = st.empty()  # takes the place of the last run's summary at once
        so_far.caption("Reading the first sessions; nothing is concluded until all are read.")
        found = [known]

        def count(pid: int, problems: list[str]) -> None:
            found[0] += len(problems)

        def progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Checked {done} of {total} sessions")
            so_far.info(check_progress_text(done, total, found[0]))

        try:
            reports[(root, stamp)] = check_corpus(root, progress=progress, found=count)
        except DataError as error:
            text_alert(st.error, "The check could not run:", str(error))
        bar.empty()
        so_far.empty()
    return reports.get((root, stamp))


def participant_ui(table: pd.DataFrame) -> int:
    """Choose one participant; return their ID."""
    labels = {int(r["id"]): participant_label(r) for r in table.to_dict("records")}
    if st.session_state.get("data_participant") not in labels:
        with_files = table.loc[table["modalities"] != "", "id"]
        st.session_state["data_participant"] = int(
            with_files.iloc[0] if len(with_files) else table["id"].iloc[0]
        )
    return st.selectbox(
        "Participant",
        list(labels),
        format_func=labels.__getitem__,
        key="data_participant",
        help="Type an ID, a split or a label to filter.",
    )


def features_ui(label: str, options: list[str], default: list[str], key: str) -> list[str]:
    """A multiselect of signal columns that remembers its choice; return the columns."""
    if key not in st.session_state:
        st.session_state[key] = default
    return st.multiselect(label, options, key=key)


# --- Page sections --------------------------------------------------------------------


def corpus_section(table: pd.DataFrame) -> None:
    """Split metrics, PHQ-8 histograms, gender counts and the participant table."""
    summary = split_summary(table)
    splits = summary["split"].tolist()
    for column, row in zip(st.columns(len(summary)), summary.itertuples(), strict=True):
        share = "no labels" if pd.isna(row.depressed_share) else f"{row.depressed_share:.0%}"
        column.metric(
            f"{row.split} participants",
            row.participants,
            f"{share} depressed",
            delta_color="off",
            delta_arrow="off",
            help=f"{row.depressed} of {row.labelled} labelled participants have PHQ8_Binary "
            f"= 1; {row.female} female, {row.male} male; {row.sessions} with session files.",
        )
    left, right = st.columns([3, 1])
    still = {"displayModeBar": False}
    histogram = score_histogram_figure(score_histogram(table), splits)
    left.plotly_chart(histogram, key="data_histogram", config=still)
    right.plotly_chart(gender_figure(gender_counts(table), splits), key="data_gender", config=still)
    st.caption(
        "Bars are coloured by the label file's PHQ8_Binary; the dotted line is the cut-off "
        f"(PHQ-8 >= {formats.PHQ8_CUTOFF}). A bar on the wrong side of it is a label defect."
    )
    with st.expander("Per split and per participant tables"):
        st.dataframe(
            summary,
            hide_index=True,
            placeholder=MISSING,
            column_config={
                "depressed": st.column_config.NumberColumn(
                    "depressed (n)", help="Labelled participants with PHQ8_Binary = 1."
                ),
                "depressed_share": st.column_config.NumberColumn(
                    "depressed (% of labelled)", format="percent"
                ),
                "mean_score": st.column_config.NumberColumn("mean PHQ-8", format="%.1f"),
            },
        )
        st.dataframe(
            readable_participants(table),
            hide_index=True,
            placeholder=MISSING,
            column_config={
                "id": st.column_config.NumberColumn("ID", format="%d"),
                "label": st.column_config.TextColumn(
                    "label", help="From the split file's PHQ8_Binary (PHQ_Binary for test)."
                ),
                "phq8_score": st.column_config.NumberColumn("PHQ-8 score", format="%d"),
                "gender": st.column_config.TextColumn(
                    "gender", help="The split file's Gender: 1 = male, 0 = female."
                ),
                "n_problems": st.column_config.NumberColumn("problems"),
            },
        )


def problems_section(corpus, table: pd.DataFrame, root: str, stamp: float) -> None:
    """The problems table: quick view, or the full check once it has run."""
    quick = problem_rows(corpus.problems, table.to_dict("records"))
    report = full_check_ui(root, stamp, len(quick))
    if report is None:
        problems = quick
        summary = quick_view_text(len(problems))
    else:
        problems = problem_rows(report["problems"], report["participants"])
        summary = full_check_text(len(problems), report["usable"])
    if problems.empty and report is not None:
        st.success(summary)
    else:
        st.caption(summary)
    if not problems.empty:
        st.dataframe(problems, hide_index=True, placeholder=MISSING, key="data_problems")


def transcript_tab(transcript: pd.DataFrame) -> None:
    """Who said what and when; the participant's lines highlighted."""
    said = speaking_summary(transcript)
    a, b, c = st.columns(3)
    a.metric("Participant lines", said["participant_lines"])
    b.metric("Participant words", said["participant_words"])
    c.metric(
        "Participant speaking",
        f"{said['participant_seconds'] / 60:.1f} min",
        f"of {said['session_seconds'] / 60:.1f} min session",
        delta_color="off",
        delta_arrow="off",
    )
    st.caption(
        "Models read only the **participant's** lines (highlighted). Ellie's prompts are "
        "shown for context; models that include them are opt-in and shortcut-prone, "
        "because her follow-up questions depend on the answers and so leak the label."
    )
    view = transcript_view(transcript)
    style = f"background-color: {TURN_FILL}"
    styled = view.style.apply(
        lambda row: [style if row["used"] else "color: #808080"] * len(row), axis=1
    )
    st.dataframe(
        styled,
        hide_index=True,
        placeholder=MISSING,
        height=420,
        column_config={
            "start": st.column_config.NumberColumn("start (s)", format="%.1f"),
            "stop": st.column_config.NumberColumn("stop (s)", format="%.1f"),
            "text": st.column_config.TextColumn("text", width="large"),
            "used": st.column_config.CheckboxColumn("used by models"),
        },
    )


def signals_tab(tracks: pd.DataFrame, columns: list[str], spans, what: str) -> None:
    """One signal panel per chosen column over time, participant turns shaded."""
    if not columns:
        st.info(f"Choose at least one {what} feature to plot.")
        return
    st.plotly_chart(signals_figure(tracks, columns, spans), key=f"data_{what}_signals")


def signal_section(
    source, kind: str, load, title: str, picker: tuple, spans, what: str, caption: str
) -> None:
    """One tab of signals: an error naming the file, a missing-file note, or the plot."""
    tracks, error = load() if source.has(kind) else (None, None)
    if error:
        text_alert(st.error, f"Cannot show the {title}:", str(error))
    elif tracks is None:
        st.info(f"There is no {source.display(kind)} in this session.")
    else:
        signals_tab(tracks, features_ui(*picker), spans, what)
        st.caption(caption)


# --- The page -----------------------------------------------------------------------------

corpus = page_corpus()
st.title("Data")
st.caption(
    "Research software, not a diagnostic device: PHQ-8 labels are questionnaire scores, "
    "and nothing on this page leaves the machine."
)
if corpus is None:
    st.info(no_corpus_text("to see what it holds"))
    st.stop()
root = str(corpus.root)
stamp = corpus_stamp(corpus.root)
table = participant_table(root, stamp)
st.caption(f"Corpus: `{root}`")
if table.empty:
    st.info("This corpus has no label files and no sessions: is it a DAIC-WOZ root?")
    st.stop()

st.header("Corpus")
corpus_section(table)

st.header("Problems")
problems_section(corpus, table, root, stamp)

st.header("One participant")
pid = participant_ui(table)
if corpus.participants[pid].source is None:
    st.info(f"Participant {pid} has no session files to show.")
    st.stop()

source = corpus.participants[pid].source
transcript, transcript_error = None, None
if source.has("transcript"):
    transcript, transcript_error = session_transcript(root, stamp, pid)
spans = None if transcript is None else turn_spans(transcript)

text_tab, speech_tab, face_tab = st.tabs(["Transcript", "Speech (COVAREP)", "Face (CLNF AUs)"])
with text_tab:
    if transcript_error:
        text_alert(st.error, "Cannot show the transcript:", str(transcript_error))
    elif transcript is None:
        st.info(f"There is no {source.display('transcript')} in this session.")
    else:
        transcript_tab(transcript)
with speech_tab:
    signal_section(
        source,
        "covarep",
        lambda: session_audio(root, stamp, pid),
        "speech features",
        ("COVAREP features", list(formats.COVAREP_COLUMNS), AUDIO_DEFAULT, "data_audio"),
        spans,
        "speech",
        f"{DISPLAY_RATE_HZ:g} points per second. F0 and the other glottal features "
        "average voiced frames only; gaps are unvoiced or scrubbed stretches. Shaded: "
        "the participant's turns, the only stretches the audio models hear.",
    )
with face_tab:
    signal_section(
        source,
        "aus",
        lambda: session_face(root, stamp, pid),
        "facial action units",
        ("Action units", FACE_OPTIONS, FACE_DEFAULT, "data_face"),
        spans,
        "face",
        f"{DISPLAY_RATE_HZ:g} points per second; intensities 0-5. Frames where the "
        "tracker found no face are left out (gaps). Shaded: the participant's turns, "
        "the only stretches the face models see.",
    )
