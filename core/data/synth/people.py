"""Who the synthetic participants are: split, label, PHQ-8 items, gender and latents."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from core.data import formats

EFFECT = 1.1
"""Class difference of each modality's latent, in units of its within-class SD."""

# The real split sizes and depressed counts: 107/35/47 with 30/12/14 depressed.
_SPLIT_SIZES = {"train": 107, "dev": 35, "test": 47}
_SPLIT_DEPRESSED = {"train": 30, "dev": 12, "test": 14}


@dataclass(frozen=True)
class _Person:
    pid: int
    split: str
    depressed: bool
    gender: int  # 1 = male, 0 = female
    items: tuple[int, ...]  # the eight PHQ-8 items, 0-3
    latent: tuple[float, float, float]  # s_audio, s_face, s_text

    @property
    def score(self) -> int:
        return sum(self.items)


def _split_counts(n: int) -> dict[str, tuple[int, int]]:
    """``{split: (participants, depressed)}`` in the real proportions."""
    total = sum(_SPLIT_SIZES.values())
    train = max(2, round(n * _SPLIT_SIZES["train"] / total))
    dev = max(2, round(n * _SPLIT_SIZES["dev"] / total))
    test = n - train - dev
    if test < 2:  # only for tiny corpora
        train -= 2 - test
        test = 2
    sizes = {"train": train, "dev": dev, "test": test}
    return {
        split: (
            size,
            min(size - 1, max(1, round(size * _SPLIT_DEPRESSED[split] / _SPLIT_SIZES[split]))),
        )
        for split, size in sizes.items()
    }


def _phq_items(rng: np.random.Generator, depressed: bool) -> tuple[int, ...]:
    """Eight items 0-3 whose sum is on the right side of the cut-off."""
    score = 10 + min(14, rng.poisson(4.0)) if depressed else min(9, rng.poisson(3.5))
    weights = np.array([1.0, 1.0, 1.4, 1.5, 1.0, 1.0, 1.1, 0.6])  # sleep and tiredness common
    items = np.zeros(8, dtype=int)
    for _ in range(score):
        room = (items < 3) * weights
        items[rng.choice(8, p=room / room.sum())] += 1
    return tuple(int(i) for i in items)


def _stratified_normal(rng: np.random.Generator, k: int) -> np.ndarray:
    """``k`` evenly spaced normal quantiles in random order, scaled to mean 0 and SD 1."""
    q = np.array([NormalDist().inv_cdf((i + 0.5) / k) for i in range(k)])
    if k > 1:
        q /= q.std()
    return rng.permutation(q)


def _draw_people(participants: int, seed: int, first_id: int) -> list[_Person]:
    """Split, label, gender and latents of every participant (deterministic given ``seed``).

    The latents' noise is stratified within each split and class, so every split shows the
    same class difference (``EFFECT`` within-class SDs): a small dev split cannot, by bad
    luck, hide or reverse the planted signal, yet participants still overlap.
    """
    rng = np.random.default_rng([seed, 189])
    ids = first_id + rng.permutation(participants)
    genders = (rng.random(participants) < 0.55).astype(int)
    if genders.min() == genders.max():  # both genders present, as in the real corpus
        genders[:2] = (1, 0)
    people, start = [], 0
    for split, (size, n_depressed) in _split_counts(participants).items():
        depressed = np.zeros(size, dtype=bool)
        depressed[rng.choice(size, n_depressed, replace=False)] = True
        noise = np.zeros((size, 3))  # (participants in split, modalities)
        for group in (depressed, ~depressed):
            noise[group] = np.stack([_stratified_normal(rng, group.sum()) for _ in range(3)], 1)
        for i, pid in enumerate(ids[start : start + size]):
            dep = bool(depressed[i])
            s_audio, s_face, s_text = (float(EFFECT * dep + z) for z in noise[i])
            gender = int(genders[pid - first_id])
            latent = (s_audio, s_face, s_text)
            people.append(_Person(int(pid), split, dep, gender, _phq_items(rng, dep), latent))
        start += size
    return sorted(people, key=lambda p: p.pid)


def _label_files(people: list[_Person]) -> dict[str, str]:
    """The four label files' contents, rows sorted by ID."""

    def table(header: tuple[str, ...], rows: list[tuple]) -> str:
        return "\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n"

    def full(p: _Person) -> tuple:
        return (p.pid, int(p.depressed), p.score, p.gender, *p.items)

    by_split = {s: [p for p in people if p.split == s] for s in formats.SPLITS}
    test = by_split["test"]
    return {
        formats.TRAIN_LABELS: table(
            formats.TRAIN_DEV_LABEL_COLUMNS, [full(p) for p in by_split["train"]]
        ),
        formats.DEV_LABELS: table(
            formats.TRAIN_DEV_LABEL_COLUMNS, [full(p) for p in by_split["dev"]]
        ),
        formats.TEST_LABELS_FULL: table(
            formats.FULL_TEST_COLUMNS, [(p.pid, int(p.depressed), p.score, p.gender) for p in test]
        ),
        formats.TEST_IDS: table(formats.TEST_ID_COLUMNS, [(p.pid, p.gender) for p in test]),
    }
