"""Two-factor sign-in: enrolment, the code step, recovery codes, replay, the throttle, the
setting that requires it, `upcron reset-2fa` and the migration that adds it."""

import re
import time
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from app.models import RecoveryCode, User
from app.models.types import utcnow
from app.services import accounts, throttle, two_factor
from app.services.errors import AuthenticationFailed
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token, post_form, run_cli
from tests.integration.test_auth import _fail_from_many_addresses, login


def enrol(app, user_id):
    """Turn two-factor on for an admin through the service; returns (TOTP, recovery codes).

    Enrolment is confirmed with the code of the previous time step, so the code of the
    current step is still unused for the sign-in that follows.
    """
    with app.app_context():
        user = db.session.get(User, user_id)
        secret = two_factor.begin_enrolment(user).secret
        totp = pyotp.TOTP(secret)
        earlier = utcnow() - timedelta(seconds=30)
        codes = two_factor.confirm_enrolment(user, totp.at(earlier), "127.0.0.1", now=earlier)
    return totp, codes


def user_row(app, user_id) -> User:
    with app.app_context():
        db.session.expire_all()
        return db.session.get(User, user_id)


def send_code(client, code="", recovery_code="", remote="10.1.1.1"):
    # The token from the sign-in page: the code page itself may already send us back there.
    return post_form(
        client,
        "/login/code",
        {"code": code, "recovery_code": recovery_code},
        form_path="/login",
        environ_base={"REMOTE_ADDR": remote},
    )


def test_enrolment_takes_effect_only_once_a_code_confirms_it(app, logged_in, admin):
    page = logged_in.get("/account/two-factor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'<svg [^>]*class="qr"', html)  # the QR code, drawn on the server
    for attribute in ('autocomplete="one-time-code"', 'inputmode="numeric"', '<label for="code"'):
        assert attribute in html
    secret = user_row(app, admin).totp_secret
    assert secret and secret[:4] in html
    # A reload shows the same secret; until confirmed it changes nothing at sign-in.
    logged_in.get("/account/two-factor")
    assert user_row(app, admin).totp_secret == secret
    assert not user_row(app, admin).has_two_factor
    assert login(app.test_client()).headers["Location"] == "/"

    wrong = post_form(
        logged_in, "/account/two-factor/enrol", {"code": "000000"}, form_path="/account/two-factor"
    )
    assert wrong.status_code == 422
    assert 'aria-invalid="true"' in wrong.get_data(as_text=True)
    assert "Wrong code" in wrong.get_data(as_text=True)
    assert not user_row(app, admin).has_two_factor

    confirmed = post_form(
        logged_in,
        "/account/two-factor/enrol",
        {"code": pyotp.TOTP(secret).now()},
        form_path="/account/two-factor",
    )
    assert confirmed.status_code == 200
    assert confirmed.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"\b[a-z2-7]{5}-[a-z2-7]{5}\b", confirmed.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert user_row(app, admin).has_two_factor
    with app.app_context():
        stored = db.session.execute(sa.select(RecoveryCode.code_hash)).scalars().all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # kept only as hashes
    assert "is <strong>on</strong>" in logged_in.get("/account/two-factor").get_data(as_text=True)


def test_sign_in_asks_for_the_code_and_signs_nobody_in_before_it(app, client, admin):
    totp, _ = enrol(app, admin)
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    # Between the two steps the session is not signed in.
    assert client.get("/settings/admins").headers["Location"].startswith("/login")
    page = client.get("/login/code").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page

    wrong = send_code(client, "123456" if totp.now() != "123456" else "654321")
    assert wrong.status_code == 401
    assert two_factor.WRONG_CODE in wrong.get_data(as_text=True)
    assert client.get("/settings/admins").status_code == 302

    response = send_code(client, totp.now())
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/settings/admins").status_code == 200
    assert user_row(app, admin).last_login_at is not None


def test_code_step_needs_the_password_step_first(client, app, admin):
    enrol(app, admin)
    response = client.get("/login/code")
    assert response.headers["Location"] == "/login"
    token = csrf_token(client, "/login")
    response = client.post("/login/code", data={"csrf_token": token, "code": "123456"})
    assert response.headers["Location"] == "/login"


def test_a_pending_sign_in_ends_when_it_times_out_or_two_factor_is_reset(app, admin):
    totp, _ = enrol(app, admin)
    client = app.test_client()
    login(client)
    with client.session_transaction() as session:
        session["pending_sign_in"] = {**session["pending_sign_in"], "until": time.time() - 1}
    response = send_code(client, totp.now())
    assert response.headers["Location"] == "/login"
    assert client.get("/settings/admins").status_code == 302

    login(client)
    run_cli(app, "reset-2fa", "--email", ADMIN_EMAIL)
    response = send_code(client, totp.now())
    assert response.headers["Location"] == "/login"
    assert "did not finish" in client.get("/login").get_data(as_text=True)


def test_recovery_code_signs_in_once(app, admin):
    _, codes = enrol(app, admin)
    first = app.test_client()
    login(first)
    response = send_code(first, recovery_code=codes[0].upper().replace("-", " "))
    assert response.status_code == 302
    assert "9 left" in first.get("/").get_data(as_text=True)

    again = app.test_client()
    login(again)
    response = send_code(again, recovery_code=codes[0])
    assert response.status_code == 401
    assert again.get("/settings/admins").status_code == 302


def test_a_code_is_accepted_once(app, admin):
    totp, _ = enrol(app, admin)
    code = totp.now()
    first, second = app.test_client(), app.test_client()
    login(first)
    login(second)
    assert send_code(first, code).status_code == 302
    replay = send_code(second, code)
    assert replay.status_code == 401
    assert two_factor.REUSED_CODE in replay.get_data(as_text=True)
    # The next step's code still works.
    assert send_code(second, totp.at(time.time() + 30)).status_code == 302


def test_wrong_codes_are_throttled_per_address_and_per_account(app, admin):
    totp, _ = enrol(app, admin)
    wrong = "000000" if totp.now() != "000000" else "111111"
    client = app.test_client()
    login(client, remote="10.8.0.1")
    for _ in range(throttle.PAIR_FAILURES):
        assert send_code(client, wrong, remote="10.8.0.1").status_code == 401
    locked = send_code(client, totp.now(), remote="10.8.0.1")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in locked.get_data(as_text=True)

    # Wrong codes from several addresses close the code step of the account everywhere.
    for n in range(1, throttle.CODE_FAILURES // throttle.PAIR_FAILURES):
        other = app.test_client()
        assert login(other, remote=f"10.8.{n}.1").status_code == 302
        for _ in range(throttle.PAIR_FAILURES):
            send_code(other, wrong, remote=f"10.8.{n}.1")
    fresh = app.test_client()
    assert login(fresh, remote="10.8.9.1").status_code == 302
    closed = send_code(fresh, totp.now(), remote="10.8.9.1")
    assert closed.status_code == 429
    assert "Too many wrong codes" in closed.get_data(as_text=True)


def test_account_attacked_from_many_addresses_still_signs_in_with_its_second_factor(app, admin):
    totp, _ = enrol(app, admin)
    _fail_from_many_addresses(app, throttle.ACCOUNT_FAILURES - 1)
    assert login(app.test_client(), password="wrong", remote="10.8.0.1").status_code == 401
    client = app.test_client()
    response = login(client, remote="10.9.9.9")
    assert response.headers["Location"] == "/login/code"
    assert send_code(client, totp.now(), remote="10.9.9.9").status_code == 302
    assert client.get("/settings/admins").status_code == 200


def test_code_step_fails_closed_when_redis_is_down(make_app, app, admin):
    enrol(app, admin)
    client = app.test_client()
    login(client)
    broken = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    # The same session cookie, on an app whose Redis is unreachable.
    broken_client = broken.test_client()
    broken_client.set_cookie("session", client.get_cookie("session").value)
    response = send_code(broken_client, "123456")
    assert response.status_code == 503
    assert "unavailable" in response.get_data(as_text=True)


def test_required_two_factor_sends_admins_without_it_to_enrolment(app, admin):
    second = accounts_second_admin(app)
    other = app.test_client()
    assert (
        login(other, email="second@example.com", password="another passphrase").status_code == 302
    )
    assert other.get("/settings/admins").status_code == 200

    me = app.test_client()
    login(me)
    # Requiring it needs one's own second factor first.
    refused = post_form(
        me, "/account/two-factor/required", {"required": "y"}, form_path="/account/two-factor"
    )
    assert refused.status_code == 422
    assert "your own account first" in refused.get_data(as_text=True)
    enrol(app, admin)
    me = app.test_client()
    login(me)
    send_code(me, pyotp.TOTP(user_row(app, admin).totp_secret).now())
    response = post_form(
        me, "/account/two-factor/required", {"required": "y"}, form_path="/account/two-factor"
    )
    assert response.status_code == 302
    with app.app_context():
        assert accounts.two_factor_required()
    assert "Without it now: second@example.com." in me.get("/account/two-factor").get_data(
        as_text=True
    )

    # The admin without a second factor is signed out, and signing in leads to enrolment.
    assert other.get("/settings/admins").headers["Location"].startswith("/login")
    response = login(other, email="second@example.com", password="another passphrase")
    assert response.headers["Location"] == "/login/enrol"
    assert other.get("/settings/admins").status_code == 302  # not signed in yet
    page = other.get("/login/enrol").get_data(as_text=True)
    assert "<svg" in page and 'autocomplete="one-time-code"' in page
    secret = user_row(app, second).totp_secret
    done = post_form(other, "/login/enrol", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    assert len(re.findall(r"\b[a-z2-7]{5}-[a-z2-7]{5}\b", done.get_data(as_text=True))) == 10
    assert other.get("/settings/admins").status_code == 200


def accounts_second_admin(app) -> int:
    with app.app_context():
        return accounts.create_admin("second@example.com", "another passphrase").id


def test_turning_off_and_new_recovery_codes_need_password_and_code(app, admin):
    totp, codes = enrol(app, admin)
    client = app.test_client()
    login(client)
    send_code(client, totp.now())
    form = "/account/two-factor"

    response = post_form(
        client,
        "/account/two-factor/recovery-codes",
        {"password": "not it", "code": totp.now()},
        form_path=form,
    )
    assert response.status_code == 422
    assert two_factor.WRONG_PASSWORD in response.get_data(as_text=True)

    response = post_form(
        client,
        "/account/two-factor/recovery-codes",
        {"password": ADMIN_PASSWORD, "code": codes[1]},
        form_path=form,
    )
    assert response.status_code == 200
    new_codes = re.findall(r"\b[a-z2-7]{5}-[a-z2-7]{5}\b", response.get_data(as_text=True))
    assert len(new_codes) == 10
    with app.app_context():
        user = db.session.get(User, admin)
        with pytest.raises(AuthenticationFailed):
            two_factor.verify(user, codes[2], "10.1.1.1")  # the old codes are gone

    response = post_form(
        client,
        "/account/two-factor/disable",
        {"password": ADMIN_PASSWORD, "code": "000000"},
        form_path=form,
    )
    assert response.status_code == 422
    assert user_row(app, admin).has_two_factor
    response = post_form(
        client,
        "/account/two-factor/disable",
        {"password": ADMIN_PASSWORD, "code": new_codes[0]},
        form_path=form,
    )
    assert response.status_code == 302
    assert not user_row(app, admin).has_two_factor
    assert login(app.test_client()).headers["Location"] == "/"


def test_reset_2fa_command_turns_it_off(app, admin):
    enrol(app, admin)
    result = run_cli(app, "reset-2fa", "--email", ADMIN_EMAIL.upper())
    assert result.exit_code == 0, result.output
    assert f"Two-factor sign-in is off for {ADMIN_EMAIL}" in result.output
    user = user_row(app, admin)
    assert not user.has_two_factor and user.totp_secret is None
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(RecoveryCode.id))).scalar() == 0
    assert login(app.test_client()).headers["Location"] == "/"

    unknown = run_cli(app, "reset-2fa", "--email", "nobody@example.com")
    assert unknown.exit_code == 1
    assert "No admin has the e-mail address nobody@example.com" in unknown.output


def test_two_factor_migration_goes_down_and_up(app, admin):
    from flask_migrate import downgrade, upgrade

    enrol(app, admin)
    with app.app_context():
        db.session.remove()
        downgrade(revision="0006")
        inspector = sa.inspect(db.engine)
        assert "recovery_codes" not in inspector.get_table_names()
        assert "totp_secret" not in {c["name"] for c in inspector.get_columns("users")}
        upgrade()
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        user = db.session.get(User, admin)
        assert user.email == ADMIN_EMAIL and not user.has_two_factor


def test_one_code_sent_twice_at_once_is_accepted_once(app, admin):
    """Two sign-ins racing with the same code: the conditional UPDATE lets one through."""
    import threading

    totp, codes = enrol(app, admin)
    code = totp.now()
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(typed, address):
        with app.app_context():
            user = db.session.get(User, admin)
            # End the read's transaction: on SQLite it holds the write lock (BEGIN IMMEDIATE).
            db.session.commit()
            barrier.wait(timeout=30)
            try:
                outcomes.append(two_factor.verify(user, typed, address))
            except AuthenticationFailed as exc:
                outcomes.append(exc.message)
            finally:
                db.session.remove()

    for typed in (code, codes[0]):
        outcomes.clear()
        threads = [threading.Thread(target=attempt, args=(typed, f"10.1.1.{n}")) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes, key=len) in (
            [two_factor.KIND_TOTP, two_factor.REUSED_CODE],
            [two_factor.KIND_RECOVERY, two_factor.WRONG_CODE],
        )
