"""Entry point: ``streamlit run app.py``.

Lays out the navigation over the page scripts in ``screens/`` and the shared sidebar with the
data source. Everything that is not UI lives in ``core``.

The page scripts are deliberately not in a folder named ``pages/``: Streamlit treats that
folder as its older multipage mode (file names as navigation labels, pages run without
this script) until ``st.navigation`` has run once, so a deep link opened first on a fresh
server would show raw file names and no sidebar. The icons are emoji, drawn by the
browser's own fonts: Material icons would be fetched from a font server on the internet.
"""

import streamlit as st

from ui.common import data_source_ui

st.set_page_config(page_title="Depression detection research dashboard", layout="wide")

navigation = st.navigation(
    [
        st.Page("screens/data.py", title="Data", icon="📊", default=True),
        st.Page("screens/train.py", title="Train", icon="🏋️"),
        st.Page("screens/runs.py", title="Runs", icon="📈"),
        st.Page("screens/explain.py", title="Explain", icon="🔍"),
        st.Page("screens/predict.py", title="Predict", icon="🧑"),
    ]
)
st.session_state["corpus"] = data_source_ui()
st.sidebar.caption("Research software, not a diagnostic device. Data stays on this machine.")
navigation.run()
