"""The server: ``streamlit run serve.py`` (or ``uvicorn serve:app``) serves the dashboard with the session
cookie routes of ``lib/web.py`` beside Streamlit's own (Streamlit 1.67 ``st.App``).

``streamlit run dashboard.py`` still works, but without the cookie routes a reload signs the user out.
Once its imports are done, this module freezes the process's heap out of the garbage collector's work
(:func:`lib.ui.heap.freeze_after_imports`, once per process; ``METERMITRA_GC_FREEZE=0`` skips it).
"""

import streamlit as st

from lib import web
from lib.ui import heap

app = st.App("dashboard.py", routes=web.ROUTES)
heap.freeze_after_imports()

if __name__ == "__main__":
    app.run()
