"""A caller's scopes decide what it can do (api.auth.Principal.can, by api_keys.has_scope)."""

from __future__ import annotations

import pytest

from app.web.api.auth import Principal


@pytest.mark.parametrize(
    ("scopes", "scope", "can"),
    [
        (("monitors:read",), "monitors:read", True),
        (("monitors:read",), "monitors:write", False),
        (("monitors:read",), "cron_jobs:read", False),
        (("monitors:*",), "monitors:write", True),
        (("monitors:*",), "metrics:read", False),
        (("*",), "metrics:read", True),
        ((), "monitors:read", False),
    ],
)
def test_a_principal_can_what_its_scopes_grant(scopes, scope, can):
    assert Principal(scopes=scopes).can(scope) is can
