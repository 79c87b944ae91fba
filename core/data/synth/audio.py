"""Synthetic COVAREP and FORMANT frames at 100 Hz with the planted audio signal."""

from __future__ import annotations

import numpy as np

from core.data import formats
from core.data.synth.dialogue import _Dialogue
from core.data.synth.noise import _mask, _rounded, _runs, _smooth

GLOTTAL_DRAWS: dict[int, tuple[float, float, float, float]] = {
    # column: (mean, sd, low, high) on voiced frames, inside the real files' ranges
    2: (0.12, 0.03, 0.0, 1.0),  # NAQ, never negative
    3: (0.30, 0.06, 0.0, 0.46),  # QOQ
    4: (-2.5, 1.0, -5.0, 0.0),  # H1H2
    5: (0.05, 0.02, 0.0, 0.10),  # PSP
    6: (0.10, 0.03, 0.0, 1.0),  # MDQ, never negative
    7: (-0.25, 0.06, -1.0, 0.0),  # peakSlope
    8: (1.2, 0.3, 0.0, 5.0),  # Rd, never negative
    9: (0.49, 0.02, 0.44, 0.53),  # Rd_conf
    10: (-0.5, 0.3, -1.0, 1.0),  # creak
}


def _audio(
    rng: np.random.Generator, dialogue: _Dialogue, seconds: float, gender: int, s_audio: float
) -> tuple[np.ndarray, np.ndarray]:
    """COVAREP ``(n, 74)`` and FORMANT ``(n, 5)`` matrices at 100 Hz, rounded."""
    n = int(seconds * formats.COVAREP_RATE_HZ)
    rate = formats.COVAREP_RATE_HZ
    speech = _mask(dialogue.intervals(formats.PARTICIPANT), n, rate)
    ellie = _mask(dialogue.intervals(formats.INTERVIEWER), n, rate)
    a = s_audio + 0.35 * rng.standard_normal(4)  # per-feature participant effects
    voiced = _runs(rng, n, 18.0, 9.0 * np.exp(0.25 * a[0]))
    blips = _runs(rng, n, 4.0, 80.0)
    vuv = (voiced & speech) | (blips & ~speech)

    cols = len(formats.COVAREP_COLUMNS)
    x = _smooth(rng, n, cols, 8)  # (n, 74)
    # F0: log-normal contour around the speaker's mean, flatter and lower when depressed.
    f0_mean = (118.0 if gender else 205.0) * np.exp(0.07 * rng.standard_normal() - 0.03 * a[1])
    f0_spread = 0.13 * np.exp(-0.2 * a[1])
    contour = _smooth(rng, n, 1, 25)[:, 0]
    x[:, 0] = f0_mean * np.exp(f0_spread * contour + 0.01 * x[:, 0])
    x[:, 1] = vuv
    for j, (mean, sd, low, high) in GLOTTAL_DRAWS.items():
        x[:, j] = np.clip(mean + sd * x[:, j], low, high)
    x[:, 8] = np.clip(x[:, 8] + 0.1 * a[3], 0.0, None)  # Rd carries the planted effect
    # MCEP_0 is log energy: loud in the participant's speech, faint in Ellie's, low otherwise.
    mcep0 = np.where(speech, -2.5 - 0.35 * a[2], np.where(ellie, -5.0, -6.5))
    x[:, 11] = mcep0 + 0.4 * x[:, 11]
    k = np.arange(1, 25)
    x[:, 12:36] = 0.8 * (-1.0) ** k / k + 0.15 / np.sqrt(k) * x[:, 12:36]
    x[:, 36:61] = np.clip(0.5 * x[:, 36:61], -np.pi, np.pi)  # HMPDM
    x[:, 61:74] = np.minimum(-0.6 + 0.15 * x[:, 61:74], -0.01)  # HMPDD, negative as in real files
    glottal_cols = [formats.COVAREP_COLUMNS.index(c) for c in formats.COVAREP_GLOTTAL]
    x[np.ix_(~vuv, glottal_cols)] = 0.0

    base = np.array([520.0, 1480.0, 2500.0, 3550.0, 4500.0]) * (1.0 if gender else 1.12)
    formant = base + np.array([60.0, 120.0, 150.0, 200.0, 200.0]) * _smooth(rng, n, 5, 6)

    scrubbed = _mask(dialogue.scrubbed, n, rate)
    x[scrubbed] = 0.0
    formant[scrubbed] = 0.0
    x[:, 0] = _rounded(np.round(x[:, 0] * 2.0) / 2.0, 1)  # F0 on a 0.5 Hz grid, as real files
    x[:, 1:] = _rounded(x[:, 1:], 4)
    return x, _rounded(formant, 1)
