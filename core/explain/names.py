"""Readable labels for feature names, for explanation figures.

Column names stay as the corpus spells them (``AU04_r``, ``Rx``, ``y_0``, ``MCEP_0``);
:func:`feature_label` adds what they measure, so a clinician can read a ranking without
the OpenFace and COVAREP manuals.
"""

from __future__ import annotations

import re

from core.data.formats import COVAREP_COLUMNS

ACTION_UNITS = {
    "01": "inner brow raiser",
    "02": "outer brow raiser",
    "04": "brow lowerer",
    "05": "upper lid raiser",
    "06": "cheek raiser",
    "09": "nose wrinkler",
    "10": "upper lip raiser",
    "12": "lip corner puller (smile)",
    "14": "dimpler",
    "15": "lip corner depressor",
    "17": "chin raiser",
    "20": "lip stretcher",
    "23": "lip tightener",
    "25": "lips part",
    "26": "jaw drop",
    "28": "lip suck",
    "45": "blink",
}
POSE = {
    "Tx": "head position x",
    "Ty": "head position y",
    "Tz": "head distance",
    "Rx": "head pitch",
    "Ry": "head yaw",
    "Rz": "head roll",
}
COVAREP = {
    "F0": "pitch",
    "VUV": "voiced share",
    "NAQ": "normalised amplitude quotient",
    "QOQ": "quasi-open quotient",
    "H1H2": "H1-H2 spectral tilt",
    "PSP": "parabolic spectral parameter",
    "MDQ": "maxima dispersion quotient",
    "peakSlope": "peak slope (breathiness)",
    "Rd": "glottal shape Rd",
    "Rd_conf": "Rd confidence",
    "creak": "creaky voice",
    "MCEP_0": "energy (cepstrum 0)",
}
LANDMARK_PARTS = (
    (range(0, 17), "jaw"),
    (range(17, 22), "right brow"),
    (range(22, 27), "left brow"),
    (range(27, 36), "nose"),
    (range(36, 42), "right eye"),
    (range(42, 48), "left eye"),
    (range(48, 68), "mouth"),
)
SPECTRAL = {
    "MCEP": ("mel-cepstral coefficient {n}", "spectral envelope"),
    "HMPDM": ("phase distortion mean {n}", "voice quality"),
    "HMPDD": ("phase distortion deviation {n}", "voice quality"),
}
"""COVAREP's numbered columns: what the coefficient is, and what it describes."""
_AU = re.compile(r"^AU(\d\d)_([rc])$")
_SPECTRAL = re.compile(r"^(MCEP|HMPDM|HMPDD)_(\d{1,2})$")
_FORMANT = re.compile(r"^F([1-5])$")
_GAZE = re.compile(r"^([xyz])_(h?)([01])$")
_LANDMARK = re.compile(r"^([xy])(\d{1,2})$")


def feature_label(name: str) -> str:
    """``"AU04_r brow lowerer (intensity)"``, ``"Rx head pitch"``, ``"x36 right eye"``, ...

    Every COVAREP and FORMANT column is described (``"MCEP_5 (mel-cepstral coefficient 5,
    spectral envelope)"``); names without a known meaning come back unchanged.
    """
    if match := _AU.match(name):
        unit, kind = match.groups()
        meaning = ACTION_UNITS.get(unit)
        what = "intensity" if kind == "r" else "present"
        return f"{name} {meaning} ({what})" if meaning else name
    if name in POSE:
        return f"{name} {POSE[name]}"
    if match := _GAZE.match(name):
        axis, head, eye = match.groups()
        frame = "head frame" if head else "camera frame"
        return f"{name} gaze {axis}, eye {eye} ({frame})"
    if match := _LANDMARK.match(name):
        axis, point = match.group(1), int(match.group(2))
        part = next((p for points, p in LANDMARK_PARTS if point in points), None)
        return f"{name} {part} {axis}" if part else name
    if name in COVAREP:
        return f"{name} {COVAREP[name]}"
    if name in COVAREP_COLUMNS and (match := _SPECTRAL.match(name)):
        what, describes = SPECTRAL[match.group(1)]
        return f"{name} ({what.format(n=int(match.group(2)))}, {describes})"
    if match := _FORMANT.match(name):
        return f"{name} formant {match.group(1)} (vocal tract resonance)"
    return name
