"""The note every page shows while the bundled sample is generated.

It says how far the generation is (sessions written) and how long it takes, as measured
(:data:`core.data.sample.GENERATION_TIME`), beside the progress bar of
:func:`ui.common.sample_progress_ui`, which redraws it each second.
"""

from __future__ import annotations

from core.data import sample


def sample_banner(done: int, total: int) -> str:
    """The note's text: ``... 12 of 60 sessions written. It takes ...``.

    Parameters
    ----------
    done, total : int
        Sessions written so far, out of how many.

    Returns
    -------
    str
        One paragraph for ``st.info``.
    """
    return (
        "The bundled synthetic sample is being generated, once, in the background: "
        f"{done} of {total} sessions written. It takes {sample.GENERATION_TIME}. "
        "This page fills in by itself as soon as it is ready."
    )
