#!/usr/bin/env bash
# Set up (virtual environment, test requirements, chromium and a Devanagari font for the browser
# journeys) and run lint and every test. Pass pytest arguments through, e.g. `-m "not browser"`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# Browser journeys drive Debian's chromium (Playwright cannot download its own browser here); the storage
# tests start their own PostgreSQL from Debian's postgresql package.
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# (no `fc-list | grep -q`: under pipefail grep's early exit can SIGPIPE fc-list into a false "missing")
[ -n "$(fc-list :lang=hi 2>/dev/null || true)" ] || need_apt+=(fonts-lohit-deva fontconfig)
# Storage tests run on both engines: a throwaway PostgreSQL cluster (tests/postgres.py) needs the server.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need_apt+=(postgresql)
# The deployment test runs docs/deploy/nginx.conf and docs/deploy/pgbouncer.ini for real.
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need_apt+=(nginx-light)
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || need_apt+=(pgbouncer)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need_apt[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "note: cannot install ${need_apt[*]} (not root); browser tests will skip outside CI"
  fi
fi

.venv/bin/ruff check lib pages tests bench dashboard.py
.venv/bin/ruff format --check lib pages tests bench dashboard.py
.venv/bin/mypy  # pyproject.toml [tool.mypy]: lib/ type-clean
exec .venv/bin/python -m pytest "$@"
