import pytest

from app.models import User
from app.services import accounts
from tests.conftest import post_form

GOOD = {
    "email": "Owner@Example.com",
    "password": "a long passphrase",
    "confirm": "a long passphrase",
}


@pytest.mark.parametrize("path", ["/", "/settings/admins", "/account/password", "/login"])
def test_every_page_leads_to_setup_before_the_first_admin(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/setup"


def test_setup_status_reports_completion(client):
    assert client.get("/api/setup/status").get_json() == {"completed": False}
    assert post_form(client, "/setup", GOOD).status_code == 302
    assert client.get("/api/setup/status").get_json() == {"completed": True}


def test_setup_creates_the_admin_and_signs_in(app, client):
    response = post_form(client, "/setup", GOOD)
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "owner@example.com" in page.get_data(as_text=True)
    with app.app_context():
        assert [u.email for u in accounts.list_admins()] == ["owner@example.com"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({**GOOD, "password": "short", "confirm": "short"}, "password", "at least 12"),
        ({**GOOD, "email": "not-an-address"}, "email", "valid e-mail"),
        ({**GOOD, "email": ""}, "email", "Enter an e-mail"),
        ({**GOOD, "confirm": "another passphrase"}, "confirm", "passwords differ"),
    ],
)
def test_setup_shows_inline_errors_and_creates_nothing(app, client, data, field, message):
    response = post_form(client, "/setup", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert message in html
    with app.app_context():
        assert User.query.count() == 0


def test_setup_shows_every_error_at_once(app, client):
    data = {"email": "not-an-address", "password": "short", "confirm": "shorter"}
    html = post_form(client, "/setup", data).get_data(as_text=True)
    for field, message in [
        ("email", "valid e-mail"),
        ("password", "at least 12"),
        ("confirm", "passwords differ"),
    ]:
        assert f'id="{field}-error"' in html and message in html
    with app.app_context():
        assert User.query.count() == 0


def test_setup_closes_for_good(app, client):
    post_form(client, "/setup", GOOD)
    other = app.test_client()
    assert other.get("/setup").headers["Location"] == "/login"
    response = other.post("/setup", data={**GOOD, "email": "intruder@example.com"})
    assert response.status_code in (302, 400)
    with app.app_context():
        assert [u.email for u in accounts.list_admins()] == ["owner@example.com"]


def test_first_admin_service_refuses_a_second_setup(app):
    from app.services.errors import Conflict

    with app.app_context():
        accounts.create_first_admin("one@example.com", "a long passphrase")
        with pytest.raises(Conflict):
            accounts.create_first_admin("two@example.com", "a long passphrase")
        assert User.query.count() == 1


def test_tampered_csrf_token_is_refused_with_a_message(app, client):
    response = client.post("/setup", data={**GOOD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    with app.app_context():
        assert User.query.count() == 0
