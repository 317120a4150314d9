"""Who may use a console: binding, token and basic auth, CSRF tokens and the cross-site check."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from newswatch.console.security import (
    ConsoleAuth,
    ConsoleConfigError,
    CsrfTokens,
    check_binding,
    cross_site,
    is_loopback,
)
from newswatch.core.settings import Settings


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_credentials(host: str) -> None:
    assert is_loopback(host)
    check_binding(host, ConsoleAuth())


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.4", "console.example.org"])
def test_any_other_address_refuses_to_start_without_credentials(host: str) -> None:
    with pytest.raises(ConsoleConfigError, match="without authentication"):
        check_binding(host, ConsoleAuth())
    check_binding(host, ConsoleAuth(token="s3cret"))
    check_binding(host, ConsoleAuth(user="analyst", password="pw"))


def test_token_works_as_bearer_or_basic_password_and_nothing_else_passes() -> None:
    auth = ConsoleAuth(token="s3cret-token")
    assert auth.allows("Bearer s3cret-token")
    assert auth.allows(basic("anyone", "s3cret-token"))
    for header in ("", "Bearer wrong", basic("anyone", "wrong"), "Basic !!notbase64", "Digest x"):
        assert not auth.allows(header), header
    assert ConsoleAuth().allows("")  # loopback without credentials: open


def test_basic_auth_needs_both_user_and_password() -> None:
    auth = ConsoleAuth(user="analyst", password="pw")
    assert auth.allows(basic("analyst", "pw"))
    assert not auth.allows(basic("analyst", "other")) and not auth.allows(basic("root", "pw"))


def test_secrets_come_from_files_never_show_in_repr_and_half_settings_are_refused(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("from-a-file\n")
    auth = ConsoleAuth.from_settings(Settings(console_token_file=token))
    assert auth.token == "from-a-file" and "from-a-file" not in repr(auth)
    with pytest.raises(ConsoleConfigError, match="not both"):
        ConsoleAuth.from_settings(Settings(console_token="x", console_token_file=token))
    with pytest.raises(ConsoleConfigError, match="go together"):
        ConsoleAuth.from_settings(Settings(console_user="analyst"))
    with pytest.raises(ConsoleConfigError, match="cannot read"):
        ConsoleAuth.from_settings(Settings(console_password_file=tmp_path / "missing", console_user="a"))


def test_csrf_tokens_belong_to_one_session_and_one_process() -> None:
    tokens = CsrfTokens()
    session = tokens.new_session()
    assert tokens.valid(session, tokens.token(session))
    assert not tokens.valid(tokens.new_session(), tokens.token(session))
    assert not tokens.valid(session, "") and not tokens.valid("", tokens.token(session))
    assert not CsrfTokens().valid(session, tokens.token(session))  # another process's key


def test_cross_site_requests_are_recognised() -> None:
    host = "127.0.0.1:8088"
    assert cross_site({"sec-fetch-site": "same-origin", "origin": "http://127.0.0.1:8088"}, host) == ""
    assert cross_site({}, host) == ""  # a non-browser client: the CSRF token still has to match
    assert "cross-site" in cross_site({"sec-fetch-site": "cross-site"}, host)
    assert "same-site" in cross_site({"sec-fetch-site": "same-site"}, host)
    assert cross_site({"origin": "http://evil.example"}, host)
    assert cross_site({"origin": "null"}, host)
