"""Everything that imports Streamlit: the frame, one module per page, and what several pages share."""
