"""Participant-grouped, stratified cross-validation folds.

Every window of a participant carries that participant's ID, so splitting *participants*
(never windows) into folds is what keeps one person's speech out of both sides of a fold.
The folds are stratified by the participant's binary label and reproducible from a seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold


def participant_folds(
    ids: Sequence[int], labels: Sequence[int], k: int, seed: int = 0
) -> list[dict[str, list[int]]]:
    """Split participants into ``k`` stratified folds.

    Parameters
    ----------
    ids : sequence of int
        Participant IDs (each once).
    labels : sequence of int
        Each participant's 0/1 label, aligned to ``ids``.
    k : int
        Number of folds (at least 2, at most the size of the smaller class).
    seed : int, default 0
        Shuffling seed: the same IDs, labels and seed always give the same folds.

    Returns
    -------
    list of dict
        One ``{"train": [ids], "dev": [ids]}`` per fold (sorted IDs); every participant is
        in exactly one fold's ``dev``.

    Raises
    ------
    ValueError
        Repeated IDs, labels other than 0/1, or ``k`` out of range.
    """
    ids_arr = np.asarray([int(i) for i in ids])
    y = np.asarray([int(v) for v in labels])
    if ids_arr.shape != y.shape:
        raise ValueError(f"{len(ids_arr)} IDs but {len(y)} labels")
    if len(set(ids_arr.tolist())) != len(ids_arr):
        raise ValueError("participant IDs repeat")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    smaller = int(min((y == 0).sum(), (y == 1).sum()))
    if not 2 <= k <= smaller:
        raise ValueError(
            f"folds must be from 2 to {smaller} (the smaller class has {smaller} participants); "
            f"got {k}"
        )
    order = np.argsort(ids_arr, kind="stable")  # folds do not depend on the input order
    ids_arr, y = ids_arr[order], y[order]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [
        {"train": sorted(ids_arr[tr].tolist()), "dev": sorted(ids_arr[te].tolist())}
        for tr, te in splitter.split(ids_arr, y)
    ]
