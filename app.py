"""Entry point: ``streamlit run app.py``.

Lays out the navigation over the page scripts in ``pages/`` and the shared sidebar with the
data source. Everything that is not UI lives in ``core``.
"""

import streamlit as st

from ui.common import data_source_ui

st.set_page_config(page_title="Depression detection research dashboard", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/data.py", title="Data", icon=":material/table_chart:", default=True),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/runs.py", title="Runs", icon=":material/compare_arrows:"),
        st.Page("pages/explain.py", title="Explain", icon=":material/insights:"),
        st.Page("pages/predict.py", title="Predict", icon=":material/person_search:"),
    ]
)
st.session_state["corpus"] = data_source_ui()
st.session_state["shell_active"] = True
st.sidebar.caption("Research software, not a diagnostic device. Data stays on this machine.")
navigation.run()
