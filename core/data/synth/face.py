"""Synthetic CLNF (OpenFace) frames at 30 Hz with the planted face signal."""

from __future__ import annotations

import numpy as np

from core.data import formats
from core.data.synth.dialogue import _Dialogue
from core.data.synth.noise import _mask, _significant, _smooth


def _face_template() -> np.ndarray:
    """A neutral 68-point face, ``(68, 3)`` mm, x right, y down, z away from the camera."""
    t = np.linspace(0, np.pi, 17)
    jaw = np.stack([-70 * np.cos(t), -10 + 75 * np.sin(t), 20 + 50 * np.cos(t) ** 2], 1)
    bx = np.linspace(-55, -15, 5)
    brow_l = np.stack([bx, -45 - 6 * np.sin(np.linspace(0, np.pi, 5)), np.full(5, 8.0)], 1)
    brow_r = brow_l[::-1] * [-1, 1, 1]
    bridge = np.stack([np.zeros(4), np.linspace(-35, -2, 4), np.linspace(8, -18, 4)], 1)
    nose = np.stack([np.linspace(-15, 15, 5), np.full(5, 8.0), [0, -5, -10, -5, 0]], 1)
    e = np.deg2rad([180, 120, 60, 0, -60, -120])
    eye_l = np.stack([-32 + 14 * np.cos(e), -30 - 5 * np.sin(e), np.full(6, 5.0)], 1)
    eye_r = eye_l[[3, 2, 1, 0, 5, 4]] * [-1, 1, 1]
    m = np.deg2rad([180, 150, 120, 90, 60, 30, 0, -30, -60, -90, -120, -150])
    mouth = np.stack([25 * np.cos(m), 35 - 10 * np.sin(m), 3 + 5 * np.abs(np.cos(m))], 1)
    i = np.deg2rad([180, 135, 90, 45, 0, -45, -90, -135])
    inner = np.stack([16 * np.cos(i), 35 - 3 * np.sin(i), np.full(8, 4.0)], 1)
    return np.concatenate([jaw, brow_l, brow_r, bridge, nose, eye_l, eye_r, mouth, inner])


AU_FLOOR = 0.5
"""Smallest non-zero AU intensity written: below it, OpenFace writes exactly 0."""

CAMERA_CENTRE = np.array([640.0, 480.0])
"""Principal point in pixels: the real videos are larger than 640 x 480."""

_TEMPLATE = _face_template()
_LOWER_LIP = [55, 56, 57, 58, 59, 65, 66, 67]
_BROWS = list(range(17, 27))


def _rotations(rx: np.ndarray, ry: np.ndarray, rz: np.ndarray) -> np.ndarray:
    """Rotation matrices ``Rx @ Ry @ Rz`` (OpenFace's order), shape ``(m, 3, 3)``."""
    m = len(rx)
    one, zero = np.ones(m), np.zeros(m)
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    mx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], 1).reshape(m, 3, 3)
    my = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], 1).reshape(m, 3, 3)
    mz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], 1).reshape(m, 3, 3)
    return mx @ my @ mz


def _direction(pitch: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Unit gaze vectors ``(m, 3)``; looking at the camera is ``(0, 0, -1)``, y down."""
    return np.stack([np.sin(yaw) * np.cos(pitch), np.sin(pitch), -np.cos(yaw) * np.cos(pitch)], 1)


def _bumps(
    rng: np.random.Generator, m: int, per_second: float, fps: float, amp: float
) -> np.ndarray:
    """Sum of smooth bumps (1-3 s long) arriving at ``per_second``, shape ``(m,)``."""
    out = np.zeros(m)
    for _ in range(rng.poisson(per_second * m / fps)):
        start = int(rng.integers(0, m))
        length = int(rng.uniform(1.0, 3.0) * fps)
        phase = np.arange(min(length, m - start)) / length
        out[start : start + len(phase)] += amp * rng.uniform(0.6, 1.4) * np.sin(np.pi * phase) ** 2
    return out


def _face(
    rng: np.random.Generator, dialogue: _Dialogue, seconds: float, s_face: float
) -> dict[str, np.ndarray]:
    """Lead columns and the five CLNF kinds' values at 30 fps, rounded."""
    fps = formats.CLNF_RATE_HZ
    m = int(seconds * fps)
    f = s_face + 0.35 * rng.standard_normal(4)  # smile, brows, head pitch, gaze pitch
    speaking = _mask(dialogue.intervals(formats.PARTICIPANT), m, fps)

    success = np.ones(m, dtype=bool)
    for _ in range(1 + rng.poisson(seconds / 60)):  # the face is lost now and then
        start = int(rng.integers(0, m))
        success[start : start + int(rng.integers(5, 60))] = False
    # Confidence on tracked frames: 0.94-0.997, mostly above 0.99, as real files.
    # (drawn by inverting one uniform per frame, so every later draw stays as it was)
    tracked = np.clip(0.997 + 0.004 * np.log1p(-rng.uniform(0.0, 1.0, m)), 0.94, 0.997)
    confidence = np.where(success, tracked, rng.uniform(0.0, 0.25, m))

    # Action units: smiles arrive less often when depressed; brows lower.
    # ``gain`` is linear in the latent (an exponential would make the few big smilers an
    # outlier tail that hides the class difference in mean AU12_r).
    noise = np.abs(_smooth(rng, m, len(formats.AU_COLUMNS), 6))  # (m, 20)
    gain = max(0.1, 1.0 - 0.25 * f[0])
    smile = _bumps(rng, m, 0.3 * gain, fps, 1.6)
    au = 0.15 + 0.15 * noise  # (m, 20)
    col = {name: j for j, name in enumerate(formats.AU_COLUMNS)}
    au[:, col["AU12_r"]] += smile  # between smiles, below the floor (written as 0)
    au[:, col["AU06_r"]] += 0.7 * smile
    au[:, col["AU04_r"]] = 0.45 * np.exp(0.5 * f[1]) * (1 + 0.6 * noise[:, col["AU04_r"]])
    au[:, col["AU15_r"]] += 0.2 * np.exp(0.6 * f[1])
    au[:, col["AU25_r"]] += np.where(speaking, 0.9, 0.0)
    au[:, col["AU26_r"]] += np.where(speaking, 0.6, 0.0)
    au[:, : col["AU04_c"]] = np.clip(au[:, : col["AU04_c"]], 0.0, 5.0)
    au[:, col["AU04_c"]] = au[:, col["AU04_r"]] > 1.0
    au[:, col["AU12_c"]] = au[:, col["AU12_r"]] > 1.0
    au[:, col["AU15_c"]] = au[:, col["AU15_r"]] > 0.6
    au[:, col["AU23_c"]] = rng.random(m) < 0.08
    au[:, col["AU28_c"]] = rng.random(m) < 0.02
    blink = np.zeros(m)
    for start in rng.integers(0, m, rng.poisson(0.28 * seconds)):
        blink[start : start + int(rng.integers(3, 7))] = 1.0
    au[:, col["AU45_c"]] = blink
    # OpenFace writes an intensity only where the AU is present: real success frames are
    # mostly exactly 0, and non-zero intensities start around 0.5.
    intensity = au[:, : col["AU04_c"]]  # (m, 14) view
    intensity[intensity < AU_FLOOR] = 0.0

    # Head pose (mm, radians): a slowly drifting head, pitched down more when depressed.
    drift = _smooth(rng, m, 6, 45)  # (m, 6)
    pose = np.stack(
        [
            rng.normal(0, 25) + 10 * drift[:, 0],
            rng.normal(0, 20) + 8 * drift[:, 1],
            rng.normal(620, 40) + 15 * drift[:, 2],
            0.05 + 0.09 * f[2] + 0.05 * drift[:, 3],
            rng.normal(0, 0.06) + 0.08 * drift[:, 4],
            rng.normal(0, 0.03) + 0.03 * drift[:, 5],
        ],
        1,
    )  # (m, 6)

    # Gaze: unit vectors in camera coordinates; y > 0 looks down.
    wander = _smooth(rng, m, 2, 10)  # (m, 2)
    pitch = pose[:, 3] + 0.04 + 0.05 * f[3] + 0.05 * wander[:, 0]
    yaw = pose[:, 4] + 0.06 * wander[:, 1]
    eyes = (-0.02, 0.02)  # the two eyes converge slightly
    in_camera = [_direction(pitch, yaw + e) for e in eyes]
    in_head = [_direction(pitch - pose[:, 3], yaw + e - pose[:, 4]) for e in eyes]
    gaze = np.concatenate(in_camera + in_head, 1)  # (m, 12)

    # Landmarks: the template deformed by the AUs, rotated and moved by the pose.
    shape = np.broadcast_to(_TEMPLATE, (m, 68, 3)).copy()  # (m, 68, 3)
    smile_now = au[:, col["AU12_r"]]
    shape[:, 48, 0] -= 3 * smile_now
    shape[:, 54, 0] += 3 * smile_now
    shape[:, [48, 54], 1] -= 2 * smile_now[:, None]
    shape[:, _LOWER_LIP, 1] += 3 * au[:, [col["AU26_r"]]]
    shape[:, _BROWS, 1] += 2 * au[:, [col["AU04_r"]]]
    shape += 0.4 * rng.standard_normal(shape.shape)
    rotation = _rotations(pose[:, 3], pose[:, 4], pose[:, 5])  # (m, 3, 3)
    points = np.einsum("mij,mkj->mki", rotation, shape) + pose[:, None, :3]  # (m, 68, 3)
    pixels = 1000.0 * points[:, :, :2] / points[:, :, 2:] + CAMERA_CENTRE  # (m, 68, 2)

    # Six significant digits, as OpenFace's C++ streams write every number.
    values = {
        "aus": _significant(au),
        "landmarks": _significant(pixels.transpose(0, 2, 1).reshape(m, 136)),
        "landmarks3d": _significant(points.transpose(0, 2, 1).reshape(m, 204)),
        "gaze": _significant(gaze),
        "pose": _significant(pose),
    }
    # Where tracking failed, OpenFace repeats the last landmarks, writes gaze (0, 0, -1)
    # and zeros elsewhere (zeros too before the first tracked frame).
    last = np.maximum.accumulate(np.where(success, np.arange(m), -1))  # (m,)
    for kind in ("landmarks", "landmarks3d"):
        values[kind] = np.where((last >= 0)[:, None], values[kind][np.maximum(last, 0)], 0.0)
    for kind in ("aus", "pose"):
        values[kind][~success] = 0.0
    values["gaze"][~success] = np.tile([0.0, 0.0, -1.0], 4)
    values["lead"] = np.stack(
        [
            np.arange(1, m + 1),
            _significant(np.arange(m) / fps),
            _significant(confidence),
            success.astype(float),
        ],
        1,
    )
    return values
