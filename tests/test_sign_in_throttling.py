"""Sign-in is throttled per account and per address, lockouts are audited and can be lifted, and a
forgotten password is reset by e-mail."""

import re

import pytest
from django.core.management import call_command

from opsview.audit.models import AuditEntry
from tests.conftest import PASSWORD

LIMIT = 10


def sign_in(client, username, password, address="198.51.100.7"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address="198.51.100.7"):
    for _ in range(times):
        response = sign_in(client, username, "wrong password", address)
        assert response.status_code in (200, 429)
    return response


def test_the_login_page_says_how_many_failures_lock_sign_in(client, db):
    page = client.get("/login/").content.decode()
    assert f"After {LIMIT} failed attempts in a row" in page and "Forgot your password?" in page


def test_an_account_is_locked_after_repeated_failures_even_from_other_addresses(client, olivia, northwind):
    for n in range(LIMIT):
        fail(client, "olivia", 1, address=f"198.51.100.{n + 1}")

    locked = sign_in(client, "olivia", PASSWORD, address="203.0.113.9")
    assert locked.status_code == 429
    assert "Sign-in is locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_address_is_locked_after_repeated_failures_on_any_accounts(client, olivia, ada):
    for n in range(LIMIT):
        sign_in(client, f"guess{n}", "wrong", address="192.0.2.50")

    assert sign_in(client, "ada", PASSWORD, address="192.0.2.50").status_code == 429
    assert sign_in(client, "ada", PASSWORD, address="192.0.2.51").status_code == 302  # another address


def test_fewer_failures_than_the_limit_do_not_lock(client, olivia):
    fail(client, "olivia", LIMIT - 1)
    assert sign_in(client, "olivia", PASSWORD).status_code == 302


def test_a_lockout_is_audited_in_the_accounts_workspaces(client, olivia, northwind):
    fail(client, "olivia", LIMIT)

    entry = AuditEntry.objects.for_workspace(northwind.workspace).get(action="account.locked_out")
    assert entry.target_label == "olivia" and entry.actor is None
    assert "198.51.100.7" in entry.note


def test_an_admin_unlocks_an_account(client, olivia):
    fail(client, "olivia", LIMIT)
    assert sign_in(client, "olivia", PASSWORD, address="203.0.113.1").status_code == 429

    call_command("axes_reset_username", "olivia")
    call_command("axes_reset_ip", "198.51.100.7")
    assert sign_in(client, "olivia", PASSWORD).status_code == 302


def test_a_forgotten_password_is_reset_by_email(client, olivia, mailoutbox):
    page = client.post("/password-reset/", {"email": "olivia@example.com"}, follow=True)
    assert "Check your e-mail" in page.content.decode()
    [mail] = mailoutbox
    assert mail.to == ["olivia@example.com"] and "olivia" in mail.body
    link = re.search(r"https?://[^/]+(/password-reset/\S+/)", mail.body).group(1)

    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"},
        follow=True,
    )
    assert "Your password is changed" in done.content.decode()
    client.logout()
    assert sign_in(client, "olivia", PASSWORD).status_code == 200  # the old one no longer works
    assert sign_in(client, "olivia", "a new long passphrase").status_code == 302


@pytest.mark.parametrize("email", ["nobody@example.com", "not an address", "x" * 300 + "@example.com"])
def test_a_reset_for_an_unknown_or_malformed_address_sends_nothing_and_says_nothing_more(client, db, email, mailoutbox):
    page = client.post("/password-reset/", {"email": email}, follow=True)
    assert page.status_code == 200
    assert mailoutbox == []
