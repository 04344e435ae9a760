"""The server: ``streamlit run serve.py`` (or ``uvicorn serve:app``) serves the dashboard with the session
cookie routes of ``lib/web.py`` beside Streamlit's own (Streamlit 1.67 ``st.App``).

``streamlit run dashboard.py`` still works, but without the cookie routes a reload signs the user out.
"""

import streamlit as st

from lib import web

app = st.App("dashboard.py", routes=web.ROUTES)

if __name__ == "__main__":
    app.run()
