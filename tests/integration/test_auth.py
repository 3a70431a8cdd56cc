import re

import pytest

from app.services import accounts, throttle
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token, post_form


def login(client, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, remote="10.1.1.1", **extra):
    return post_form(
        client,
        "/login",
        {"email": email, "password": password, **extra},
        environ_base={"REMOTE_ADDR": remote},
    )


def test_login_and_logout(client, admin):
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).headers["Location"] == "/login"
    assert client.get("/settings/admins").headers["Location"].startswith("/login")


def test_unknown_email_and_wrong_password_get_the_same_answer(client, admin):
    wrong = login(client, password="not the password")
    unknown = login(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    message = accounts.WRONG_CREDENTIALS
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_logout_needs_a_post_with_csrf(logged_in):
    assert logged_in.get("/logout").status_code == 405
    assert logged_in.post("/logout").status_code == 400
    assert logged_in.get("/").status_code == 200


def test_failures_from_one_address_do_not_lock_out_another(app, admin):
    for _ in range(5):
        assert login(app.test_client(), password="wrong", remote="10.0.0.1").status_code == 401
    # The right password from a fresh address still signs in...
    assert login(app.test_client(), remote="10.9.9.9").status_code == 302
    # ...while the failing address is locked out of this account, right password or not.
    response = login(app.test_client(), remote="10.0.0.1")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in response.get_data(as_text=True)


def _fail_from_one_address(app, ip: str, failures: int = throttle.ADDRESS_FAILURES - 1):
    """Count wrong passwords from one address, each for another account, straight into the
    throttle: a real sign-in costs an Argon2 hash each."""
    with app.app_context():
        for n in range(failures):
            throttle.record_password_failure(f"user{n}@example.com", ip)


def test_address_is_throttled_after_ten_failures_across_accounts(app, admin):
    _fail_from_one_address(app, "10.2.2.2", throttle.ADDRESS_FAILURES - 2)
    login(app.test_client(), email="user8@example.com", password="wrong", remote="10.2.2.2")
    assert login(app.test_client(), remote="10.2.2.2").status_code == 302
    login(app.test_client(), email="user9@example.com", password="wrong", remote="10.2.2.2")
    assert login(app.test_client(), remote="10.2.2.2").status_code == 429
    assert login(app.test_client(), remote="10.3.3.3").status_code == 302


def _fail_from_many_addresses(app, failures: int, email=ADMIN_EMAIL, network="10.6"):
    """Count wrong passwords for one account, five from each address (the most each may
    send), straight into the throttle: a real sign-in costs an Argon2 hash each."""
    with app.app_context():
        for n in range(failures):
            throttle.record_password_failure(email, f"{network}.{n // throttle.PAIR_FAILURES}.1")


def test_account_attacked_from_many_addresses_waits_without_two_factor(app, admin):
    _fail_from_many_addresses(app, throttle.ACCOUNT_FAILURES - 2)
    assert login(app.test_client(), password="wrong", remote="10.8.0.1").status_code == 401
    assert login(app.test_client(), remote="10.9.9.9").status_code == 302
    assert login(app.test_client(), password="wrong", remote="10.8.0.2").status_code == 401
    response = login(app.test_client(), remote="10.9.9.8")
    assert response.status_code == 429
    assert "from several addresses" in response.get_data(as_text=True)
    # A wrong password gets the same answer: the lock tells nothing about the password.
    assert login(app.test_client(), password="guess", remote="10.9.9.7").status_code == 429
    # An unknown e-mail address attacked the same way answers alike.
    _fail_from_many_addresses(app, throttle.ACCOUNT_FAILURES, "nobody@example.com", "10.7")
    assert login(app.test_client(), email="nobody@example.com").status_code == 429


def test_forwarded_for_is_believed_only_from_trusted_proxies(make_app, admin):
    app = make_app(TRUSTED_PROXIES=())
    client = app.test_client()
    _fail_from_one_address(app, "10.4.4.4")
    post_form(
        client,
        "/login",
        {"email": "last@example.com", "password": "wrong"},
        environ_base={"REMOTE_ADDR": "10.4.4.4"},
        headers={"X-Forwarded-For": "192.0.2.1"},
    )
    # The spoofed header changed nothing: the address itself is throttled.
    other = post_form(
        client,
        "/login",
        {"email": "x@example.com", "password": "wrong"},
        environ_base={"REMOTE_ADDR": "10.4.4.4"},
    )
    assert other.status_code == 429


def test_trusted_proxy_forwards_the_client_address(make_app, admin):
    import ipaddress

    app = make_app(TRUSTED_PROXIES=(ipaddress.ip_network("10.5.0.0/16"),))
    client = app.test_client()
    _fail_from_one_address(app, "203.0.113.7")
    post_form(
        client,
        "/login",
        {"email": "last@example.com", "password": "wrong"},
        environ_base={"REMOTE_ADDR": "10.5.0.1"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    blocked = post_form(
        client,
        "/login",
        {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.5.0.1"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert blocked.status_code == 429
    allowed = post_form(
        client,
        "/login",
        {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.5.0.1"},
        headers={"X-Forwarded-For": "203.0.113.8"},
    )
    assert allowed.status_code == 302


def test_login_fails_closed_when_redis_is_down(make_app, admin):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = login(app.test_client())
    assert response.status_code == 503
    assert "unavailable" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_never_leaves_the_site(client, admin, target):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=" + target,
        data={"csrf_token": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_next_returns_to_a_local_page(client, admin):
    response = client.get("/settings/admins")
    assert response.headers["Location"] == "/login?next=%2Fsettings%2Fadmins"
    token = csrf_token(client, "/login?next=%2Fsettings%2Fadmins")
    response = client.post(
        "/login?next=%2Fsettings%2Fadmins",
        data={"csrf_token": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    assert response.headers["Location"] == "/settings/admins"


def test_remember_me_survives_a_lost_session_cookie(app, admin):
    client = app.test_client()
    login(client, remember="y")
    assert client.get_cookie("remember_token") is not None
    client.delete_cookie("session")
    assert client.get("/").status_code == 200


def test_password_change_ends_every_other_session(app, admin):
    me, other, remembered = app.test_client(), app.test_client(), app.test_client()
    login(me)
    login(other)
    login(remembered, remember="y")
    response = post_form(
        me,
        "/account/password",
        {
            "current_password": ADMIN_PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert me.get("/").status_code == 200
    assert other.get("/settings/admins").status_code == 302
    remembered.delete_cookie("session")
    assert remembered.get("/settings/admins").status_code == 302
    assert login(app.test_client(), password="a brand new passphrase").status_code == 302


def test_password_change_validates_inline(logged_in):
    response = post_form(
        logged_in,
        "/account/password",
        {"current_password": "wrong", "new_password": "short", "confirm": "short"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This is not your current password." in html
    assert "at least 12" in html


def test_admins_can_add_and_remove_admins(app, logged_in):
    response = post_form(
        logged_in,
        "/settings/admins",
        {"email": "second@example.com", "password": "another passphrase"},
    )
    assert response.status_code == 302
    second = app.test_client()
    login(second, email="second@example.com", password="another passphrase")
    assert second.get("/").status_code == 200
    with app.app_context():
        second_id = next(u.id for u in accounts.list_admins() if u.email == "second@example.com")
    response = post_form(
        logged_in, f"/settings/admins/{second_id}/remove", {}, form_path="/settings/admins"
    )
    assert response.status_code == 302
    assert second.get("/settings/admins").status_code == 302  # their session ended


def test_duplicate_admin_email_is_an_inline_error(logged_in):
    response = post_form(
        logged_in, "/settings/admins", {"email": ADMIN_EMAIL.upper(), "password": "x" * 12}
    )
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


def test_admins_cannot_remove_themselves_nor_the_last_admin(app, admin):
    from app.extensions import db
    from app.models import User
    from app.services.errors import Conflict

    with app.app_context():
        me = db.session.get(User, admin)
        with pytest.raises(Conflict, match="your own account"):
            accounts.remove_admin(me.id, actor=me)
        someone_else = User(id=-1, email="gone@example.com")
        with pytest.raises(Conflict, match="last admin"):
            accounts.remove_admin(me.id, actor=someone_else)
        assert len(accounts.list_admins()) == 1


def test_session_cookie_flags(client, admin):
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_html_responses_carry_security_headers(client, admin):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.get_data(as_text=True))
