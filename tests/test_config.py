"""Configuration and deployment security: Streamlit config, secrets handling, no raw HTML with data,
nothing read from the URL."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from lib import auth, config, otp, sms, storage

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = {"otp_login": "t1", "otp_link": "t2", "link_notice": "t3"}
CODE_FILES = [
    ROOT / "dashboard.py",
    *sorted((ROOT / "pages").glob("*.py")),
    *sorted((ROOT / "lib").rglob("*.py")),
]


# --- .streamlit/config.toml ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def streamlit_config() -> dict:
    with (ROOT / ".streamlit" / "config.toml").open("rb") as handle:
        return tomllib.load(handle)


def test_xsrf_and_cors_protection_stay_on(streamlit_config):
    assert streamlit_config["server"]["enableXsrfProtection"] is True
    assert streamlit_config["server"]["enableCORS"] is True


def test_the_server_listens_on_this_machine_only_by_default(streamlit_config):
    assert streamlit_config["server"]["address"] == "127.0.0.1"  # issue 13 item 12


def test_no_error_details_reach_users(streamlit_config):
    assert streamlit_config["client"]["showErrorDetails"] == "none"
    assert streamlit_config["client"]["toolbarMode"] == "viewer"


def test_no_full_garbage_collection_after_every_run(streamlit_config):
    """Issue 15: Streamlit's gc.collect(2) after every script run cost ~0.2 s of CPU a run with the product's
    heap; off, measured for server CPU and RSS in BENCHMARKS.md section 6."""
    assert streamlit_config["runner"]["postScriptGC"] is False


def test_the_server_runs_with_the_options_of_this_file():
    """Streamlit reads this file: the option is in force where the server starts (the repository root)."""
    from streamlit import config as st_config

    code = (
        "from streamlit import config; config.get_config_options(force_reparse=True);"
        " print(config.get_option('runner.postScriptGC'))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip().splitlines()[-1] == "False"
    assert st_config._config_options_template["runner.postScriptGC"].default_val is True  # what we turn off


def test_streamlit_reads_these_options():
    """The option names are real Streamlit options (a typo would silently leave the default on)."""
    from streamlit import config as st_config

    for name in (
        "server.enableXsrfProtection",
        "server.enableCORS",
        "client.showErrorDetails",
        "client.toolbarMode",
        "runner.postScriptGC",
    ):
        assert name in st_config._config_options_template, name


# --- secrets ---------------------------------------------------------------------------------------


def test_secrets_and_the_key_file_are_git_ignored():
    for path in (".streamlit/secrets.toml", "data/.otp_key"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)  # noqa: S603, S607
        assert result.returncode == 0, f"{path} is not git-ignored"


def test_the_secrets_example_is_documented_and_holds_no_secret():
    path = ROOT / ".streamlit" / "secrets.toml.example"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert all(isinstance(value, dict) for value in data.values()), "every secret belongs in a [section]"
    assert {"otp", "sms", "store", "camp"} <= set(data)
    assert set(sms.HTTP_REQUIRED) <= set(data["sms"]["http"])
    assert {"otp_login", "otp_link", "link_notice"} <= set(data["sms"]["http"]["templates"])
    assert data["otp"]["key"].startswith("REPLACE-WITH") and data["sms"]["http"]["api_key"].startswith(
        "REPLACE-WITH"
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    headers = [n for n, line in enumerate(lines) if line.startswith("[")]
    assert len(headers) == 6 and all(lines[n + 1].startswith("# ") for n in headers)  # each section explained


def test_the_example_copied_unchanged_fails_closed(tmp_path, conn):
    copied = tmp_path / "secrets.toml"
    copied.write_text((ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8"))
    settings = config.load_settings(env={}, secrets_path=copied)
    with pytest.raises(auth.AuthConfigurationError, match="at least 32"):
        auth.check_startup(conn, replace(settings, db_path=Path("unused")))
    production = replace(
        settings,
        sms_gateway="http",
        otp_key="6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba",
    )
    with pytest.raises(auth.AuthConfigurationError, match="url|api_key"):
        auth.check_startup(conn, production)


def test_the_otp_key_comes_from_secrets_and_the_environment_wins(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[otp]\nkey = "' + "6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba" + '"\n'
    )
    from_file = config.load_settings(env={}, secrets_path=secrets)
    assert otp.load_key(from_file).secret == bytes.fromhex(
        "6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba"
    )
    from_env = config.load_settings(
        env={"METERMITRA_OTP_KEY": "f343f7fcdff47d037e1668557a0477ed50deb853e3a48cd32375a96c2801a614"},
        secrets_path=secrets,
    )
    assert otp.load_key(from_env).secret == bytes.fromhex(
        "f343f7fcdff47d037e1668557a0477ed50deb853e3a48cd32375a96c2801a614"
    )


def test_a_missing_key_with_production_data_fails_closed(conn, tmp_path):
    storage.consumers.upsert_consumers(
        conn, [{"consumer_id": "1", "name": "A", "registered_mobile": "+919812345678"}]
    )
    settings = config.Settings(
        db_path=Path("unused"),
        sms_gateway="http",
        sms_http={
            "url": "https://x.example/s",
            "api_key": "k",
            "entity_id": "e",
            "sender_id": "s",
            "templates": TEMPLATES,
        },
    )
    with pytest.raises(auth.AuthConfigurationError, match="no OTP key"):
        auth.check_startup(conn, settings, key_file=tmp_path / ".otp_key")


def test_the_key_never_reaches_the_database(conn):
    settings = config.load_settings()
    from lib import auth as flows

    flows.start_sign_in(conn, settings, "9876543210", lang="en", pacer=otp.Pacer(0))
    dump = "\n".join(conn.raw.iterdump())
    assert settings.otp_key not in dump
    assert otp.load_key(settings).secret.hex() not in dump


# --- no raw HTML with data, nothing from the URL ------------------------------------------------------


def _module_constants(tree: ast.Module) -> dict[str, object]:
    constants: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def _unsafe_html_calls(path: Path, root: Path = ROOT) -> list[str]:
    """Calls passing ``unsafe_allow_html`` that is not literally False, whose body is not a literal string."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _module_constants(tree)
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        flag = next((k.value for k in node.keywords if k.arg == "unsafe_allow_html"), None)
        if flag is None or (isinstance(flag, ast.Constant) and flag.value is False):
            continue
        body = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "body"), None)
        literal = isinstance(body, ast.Constant) and isinstance(body.value, str)
        named_literal = isinstance(body, ast.Name) and isinstance(constants.get(body.id), str)
        if not (literal or named_literal):
            bad.append(f"{path.relative_to(root)}:{node.lineno}")
    return bad


def test_no_unsafe_html_with_non_literal_arguments():
    assert [hit for path in CODE_FILES for hit in _unsafe_html_calls(path)] == []


def test_the_html_check_catches_data(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import streamlit as st\nCSS = '<style></style>'\nname = input()\n"
        "st.markdown(CSS, unsafe_allow_html=True)\n"
        "st.markdown(f'<b>{name}</b>', unsafe_allow_html=True)\n"
        "st.markdown(name, unsafe_allow_html=1 == 1)\n"
        "st.markdown(name)\n"
    )
    assert _unsafe_html_calls(sample, root=tmp_path) == ["sample.py:5", "sample.py:6"]


# The one st.html body that is built, not literal: the frame's cookie script, made by
# ``frame._cookie_script`` from a route path constant and a server-generated, token-shaped hand-off (it
# raises on anything else; no database or user text can reach it).
BUILT_HTML = {("frame.py", "cookie_script")}


def test_no_st_html_with_data():
    """``st.html`` only ever gets a literal string (inline or a module-level constant)."""
    for path in CODE_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_constants(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "html"
            ):
                body = node.args[0] if node.args else None
                literal = isinstance(body, ast.Constant) and isinstance(body.value, str)
                named = isinstance(body, ast.Name) and isinstance(constants.get(body.id), str)
                built = isinstance(body, ast.Name) and (path.name, body.id) in BUILT_HTML
                assert literal or named or built, f"{path.name}:{node.lineno}"


def test_nothing_is_read_from_query_params():
    users = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in CODE_FILES
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in {"query_params", "experimental_get_query_params"}
    ]
    assert users == []
