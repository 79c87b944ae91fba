"""Entry point: ``streamlit run app.py``.

Lays out the navigation over the page scripts in ``screens/`` and the shared sidebar with the
data source. Everything that is not UI lives in ``core``.

The page scripts are deliberately not in a folder named ``pages/``: Streamlit treats that
folder as its older multipage mode (file names as navigation labels, pages run without
this script) until ``st.navigation`` has run once, so a deep link opened first on a fresh
server would show raw file names and no sidebar. The pages carry no icons: Streamlit fetches
Material icons from a font server on the internet, and emoji need a font that headless and
minimal Linux machines lack.
"""

import streamlit as st

from ui.common import data_source_ui

st.set_page_config(page_title="Depression detection research dashboard", layout="wide")

navigation = st.navigation(
    [
        st.Page("screens/data.py", title="Data", default=True),
        st.Page("screens/train.py", title="Train"),
        st.Page("screens/runs.py", title="Runs"),
        st.Page("screens/experiments.py", title="Experiments"),
        st.Page("screens/explain.py", title="Explain"),
        st.Page("screens/predict.py", title="Predict"),
        st.Page("screens/report.py", title="Report"),
    ]
)
data_source_ui()  # also keeps the corpus for the page (ui.common.page_corpus)
st.sidebar.caption("Research software, not a diagnostic device. Data stays on this machine.")
navigation.run()
