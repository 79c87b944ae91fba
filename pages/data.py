"""Data page: what the corpus holds, per split and per participant, and its problems."""

import pandas as pd
import streamlit as st

corpus = st.session_state.get("corpus")
st.title("Data")
if corpus is None:
    st.info("Choose a corpus in the sidebar to see what it holds.")
    st.stop()

st.caption(f"Corpus: `{corpus.root}`")
splits = corpus.splits()
columns = st.columns(len(splits))
for column, (name, counts) in zip(columns, splits.items(), strict=True):
    share = counts["depressed"] / counts["n"] if counts["n"] else 0.0
    column.metric(f"{name} participants", counts["n"], f"{share:.0%} depressed", delta_color="off")

table = corpus.table()
st.subheader("Participants")
st.dataframe(
    table.drop(columns=["problems"]),
    hide_index=True,
    width="stretch",
    column_config={
        "id": st.column_config.NumberColumn("ID", format="%d"),
        "phq8_binary": st.column_config.NumberColumn("PHQ-8 binary", format="%d"),
        "phq8_score": st.column_config.NumberColumn("PHQ-8 score", format="%d"),
        "n_problems": st.column_config.NumberColumn("problems"),
    },
)

st.subheader("Problems")
rows = [{"participant": "corpus", "problem": p} for p in corpus.problems]
rows += [{"participant": str(r.id), "problem": p} for r in table.itertuples() for p in r.problems]
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
else:
    st.success("No problems found in the label files or the session index.")
