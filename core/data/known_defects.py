"""Defects of the distributed DAIC-WOZ corpus that cannot be seen in the files alone.

They apply only to a corpus whose IDs are in the real range (300-492); synthetic corpora
use IDs from 900 and never match. Defects that *can* be seen in the files (a binary label
that contradicts the score, a blank PHQ-8 item, a session without interviewer lines, a
video that stops early, a truncated archive, a stray macOS file) are detected from the
data by :mod:`core.data.check` instead, so they are caught wherever they occur.
"""

from __future__ import annotations

REAL_ID_RANGE = range(300, 493)

TRANSCRIPT_OFFSET_S: dict[int, float] = {
    318: 34.319917,
    321: 3.8379167,
    341: 6.1892,
    362: 16.8582,
}
"""Seconds to add to transcript times so that they line up with the audio and video."""

INTERRUPTIONS_S: dict[int, tuple[float, float]] = {
    373: (395.0, 428.0),
    444: (286.0, 387.0),
}
"""Spans in which the interview was interrupted; no window is cut from them."""


def is_real_id(pid: int) -> bool:
    """Whether ``pid`` lies in the real DAIC-WOZ range (and known defects apply)."""
    return pid in REAL_ID_RANGE


def transcript_offset(pid: int) -> float:
    """Seconds to add to this session's transcript times (0 for most sessions)."""
    return TRANSCRIPT_OFFSET_S.get(pid, 0.0) if is_real_id(pid) else 0.0


def interruption(pid: int) -> tuple[float, float] | None:
    """The interrupted span of this session, if it is a known one."""
    return INTERRUPTIONS_S.get(pid) if is_real_id(pid) else None


def known_notes(pid: int) -> list[str]:
    """Human-readable notes for the defects of this session that the files cannot show."""
    notes = []
    if offset := transcript_offset(pid):
        notes.append(
            f"transcript is {offset:.1f} s out of sync with the audio (known defect); "
            "its times are shifted to match"
        )
    if span := interruption(pid):
        notes.append(
            f"interview interrupted between about {span[0]:.0f} s and {span[1]:.0f} s "
            "(known defect); that span is left out of windows"
        )
    return notes
