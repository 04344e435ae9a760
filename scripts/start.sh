#!/usr/bin/env bash
# Set up (virtual environment, requirements) and start the dashboard on the embedded default:
# SQLite at data/metermitra.db, demo data created on first start. Extra arguments go to streamlit.
# serve.py is the dashboard with its session-cookie routes (staying signed in across reloads and tabs).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
.venv/bin/python -m lib.cli migrate   # the dashboard itself migrates only at first start
exec .venv/bin/python -m streamlit run serve.py --server.address 127.0.0.1 "$@"
