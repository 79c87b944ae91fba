"""File names, column names and label-file layouts of the DAIC-WOZ corpus.

Everything here is a fact about the distributed corpus (docs/data-formats.md); readers,
the synthetic generator and the checks all take their names from this one module.
"""

from __future__ import annotations

# --- Audio ---------------------------------------------------------------------------

COVAREP_RATE_HZ = 100.0
"""COVAREP and FORMANT files have one row every 10 ms."""

COVAREP_COLUMNS: tuple[str, ...] = (
    "F0",
    "VUV",
    "NAQ",
    "QOQ",
    "H1H2",
    "PSP",
    "MDQ",
    "peakSlope",
    "Rd",
    "Rd_conf",
    "creak",
    *(f"MCEP_{i}" for i in range(25)),
    *(f"HMPDM_{i}" for i in range(25)),
    *(f"HMPDD_{i}" for i in range(13)),
)
"""The 74 header-less COVAREP columns, in file order."""

COVAREP_GLOTTAL: tuple[str, ...] = (
    "F0",
    "NAQ",
    "QOQ",
    "H1H2",
    "PSP",
    "MDQ",
    "peakSlope",
    "Rd",
    "Rd_conf",
    "creak",
)
"""Columns that carry no meaning where VUV = 0 (unvoiced frames)."""

FORMANT_COLUMNS: tuple[str, ...] = ("F1", "F2", "F3", "F4", "F5")
"""The 5 header-less FORMANT columns."""

# --- Face (CLNF / OpenFace) ----------------------------------------------------------

CLNF_RATE_HZ = 30.0
"""Nominal CLNF frame rate; the files carry their own timestamps."""

CLNF_SEPARATOR = ", "
"""CLNF files separate fields by a comma and a space."""

CLNF_LEAD: tuple[str, ...] = ("frame", "timestamp", "confidence", "success")
"""Every CLNF file starts with these four columns."""

AU_COLUMNS: tuple[str, ...] = (
    "AU01_r",
    "AU02_r",
    "AU04_r",
    "AU05_r",
    "AU06_r",
    "AU09_r",
    "AU10_r",
    "AU12_r",
    "AU14_r",
    "AU15_r",
    "AU17_r",
    "AU20_r",
    "AU25_r",
    "AU26_r",
    "AU04_c",
    "AU12_c",
    "AU15_c",
    "AU23_c",
    "AU28_c",
    "AU45_c",
)
LANDMARK_2D_COLUMNS: tuple[str, ...] = (
    *(f"x{i}" for i in range(68)),
    *(f"y{i}" for i in range(68)),
)
LANDMARK_3D_COLUMNS: tuple[str, ...] = (
    *(f"X{i}" for i in range(68)),
    *(f"Y{i}" for i in range(68)),
    *(f"Z{i}" for i in range(68)),
)
GAZE_COLUMNS: tuple[str, ...] = (
    "x_0",
    "y_0",
    "z_0",
    "x_1",
    "y_1",
    "z_1",
    "x_h0",
    "y_h0",
    "z_h0",
    "x_h1",
    "y_h1",
    "z_h1",
)
POSE_COLUMNS: tuple[str, ...] = ("Tx", "Ty", "Tz", "Rx", "Ry", "Rz")

CLNF_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    # kind: (file-name suffix after "NNN_", columns after the four lead columns)
    "aus": ("CLNF_AUs.txt", AU_COLUMNS),
    "landmarks": ("CLNF_features.txt", LANDMARK_2D_COLUMNS),
    "landmarks3d": ("CLNF_features3D.txt", LANDMARK_3D_COLUMNS),
    "gaze": ("CLNF_gaze.txt", GAZE_COLUMNS),
    "pose": ("CLNF_pose.txt", POSE_COLUMNS),
}
"""The five CLNF files by kind."""

# --- Session files -------------------------------------------------------------------

SESSION_FILES: dict[str, str] = {
    "transcript": "TRANSCRIPT.csv",
    "covarep": "COVAREP.csv",
    "formant": "FORMANT.csv",
    **{kind: suffix for kind, (suffix, _) in CLNF_FILES.items()},
}
"""Every per-session file kind and its name suffix (the file is ``f"{pid}_{suffix}"``)."""

MODALITY_FILES: dict[str, tuple[str, ...]] = {
    "text": ("transcript",),
    "audio": ("covarep",),
    "face": ("aus", "pose", "gaze", "landmarks"),
}
"""Which file kinds a modality needs (face needs at least one of its kinds)."""

TRANSCRIPT_COLUMNS: tuple[str, ...] = ("start_time", "stop_time", "speaker", "value")
INTERVIEWER = "Ellie"
PARTICIPANT = "Participant"


def session_folder(pid: int) -> str:
    """Folder (or archive stem) name of a session, e.g. ``"300_P"``."""
    return f"{pid}_P"


def session_file(pid: int, kind: str) -> str:
    """File name of one kind of session file, e.g. ``"300_COVAREP.csv"``."""
    return f"{pid}_{SESSION_FILES[kind]}"


# --- Labels ----------------------------------------------------------------------------

TRAIN_LABELS = "train_split_Depression_AVEC2017.csv"
DEV_LABELS = "dev_split_Depression_AVEC2017.csv"
TEST_LABELS_FULL = "full_test_split.csv"
TEST_IDS = "test_split_Depression_AVEC2017.csv"

PHQ8_ITEMS: tuple[str, ...] = (
    "PHQ8_NoInterest",
    "PHQ8_Depressed",
    "PHQ8_Sleep",
    "PHQ8_Tired",
    "PHQ8_Appetite",
    "PHQ8_Failure",
    "PHQ8_Concentrating",
    "PHQ8_Moving",
)
TRAIN_DEV_LABEL_COLUMNS: tuple[str, ...] = (
    "Participant_ID",
    "PHQ8_Binary",
    "PHQ8_Score",
    "Gender",
    *PHQ8_ITEMS,
)
FULL_TEST_COLUMNS: tuple[str, ...] = ("Participant_ID", "PHQ_Binary", "PHQ_Score", "Gender")
TEST_ID_COLUMNS: tuple[str, ...] = ("participant_ID", "Gender")

PHQ8_CUTOFF = 10
"""A PHQ-8 score of 10 or more is the depressed class (PHQ8_Binary = 1)."""

SPLITS: tuple[str, ...] = ("train", "dev", "test")
