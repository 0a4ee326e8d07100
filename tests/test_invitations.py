"""An admin invites someone by e-mail; the link in the mail makes their account or adds their existing one."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from opsview.audit.models import AuditEntry
from opsview.firms.invitations import invite
from opsview.workspaces.models import Invitation, Membership, Partner, Workspace
from opsview.workspaces.roles import Role
from tests.conftest import PASSWORD

NEW_PERSON = {
    "first_name": "Nina",
    "last_name": "Berg",
    "username": "nina",
    "password1": "quiet-harbour-2917",
    "password2": "quiet-harbour-2917",
}


def link_in(message):
    return re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)


def path_of(link):
    return "/" + link.split("/", 3)[3]


def test_invited_by_the_members_page_a_new_person_sets_a_password_and_lands_in_the_firm(client, northwind, ada):
    client.force_login(ada)
    page = client.get("/settings/members/")
    assert page.status_code == 200 and "Send invitation" in page.content.decode()

    response = client.post("/settings/members/", {"email": "nina@northwind.example", "role": Role.OPERATOR})

    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["nina@northwind.example"] and "Northwind" in message.subject
    link = link_in(message)
    assert link.startswith("http://testserver/invitations/")
    assert "nina@northwind.example" in client.get("/settings/members/").content.decode()  # waiting

    newcomer = Client()
    form = newcomer.get(path_of(link))
    assert form.status_code == 200 and "Accept invitation" in form.content.decode()
    assert form.context["form"]["username"].initial == "nina"
    landed = newcomer.post(path_of(link), NEW_PERSON, follow=True)

    nina = get_user_model().objects.get(username="nina")
    assert landed.redirect_chain[-1][0] == "/" and landed.status_code == 200
    assert landed.context["user"] == nina and landed.context["workspace"] == northwind.workspace
    assert landed.context["membership"].role == Role.OPERATOR
    assert (nina.email, nina.first_name, nina.last_name) == ("nina@northwind.example", "Nina", "Berg")
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == nina and invitation.accepted_at is not None
    actions = set(AuditEntry.objects.for_workspace(northwind.workspace).values_list("action", flat=True))
    assert {"invitation.sent", "invitation.accepted"} <= actions


def test_a_used_link_is_refused(northwind, ada):
    invitation = invite(ada, northwind.workspace, "nina@northwind.example", Role.OPERATOR)
    path = path_of(link_in(mail.outbox[0]))
    assert Client().post(path, NEW_PERSON).status_code == 302
    again = Client().get(path)
    assert again.status_code == 410 and "used already" in again.content.decode()
    assert Membership.objects.filter(workspace=northwind.workspace, user__username="nina").count() == 1
    assert invitation.pk


def test_an_expired_link_is_refused_and_a_resent_one_works_again(client, northwind, ada, settings):
    settings.OPSVIEW_INVITATION_DAYS = 2
    invitation = invite(ada, northwind.workspace, "nina@northwind.example", Role.EXECUTIVE)
    assert invitation.expires_at - invitation.created_at == timedelta(days=2)
    path = path_of(link_in(mail.outbox[0]))
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    refused = Client().post(path, NEW_PERSON)
    assert refused.status_code == 410 and "expired" in refused.content.decode()
    assert not get_user_model().objects.filter(username="nina").exists()

    # Expired, it is no longer waiting; a new invitation can be sent.
    client.force_login(ada)
    again = client.post("/settings/members/", {"email": "nina@northwind.example", "role": "executive"})
    assert again.status_code == 302
    assert Client().get(path_of(link_in(mail.outbox[-1]))).status_code == 200


def test_a_tampered_link_is_refused(northwind, ada):
    invite(ada, northwind.workspace, "nina@northwind.example", Role.ADMIN)
    path = path_of(link_in(mail.outbox[0]))
    token = path.split("/")[2]
    other = Invitation.objects.get().pk + 1
    forged = token.replace(token.split(":")[0], token.split(":")[0][:-2] + "xy")
    for bad in (f"/invitations/{forged}/", f"/invitations/{token[:-3]}/", f"/invitations/{other}/"):
        response = Client().post(bad, NEW_PERSON)
        assert response.status_code == 400 and "not valid" in response.content.decode(), bad
    assert not get_user_model().objects.filter(username="nina").exists()


def test_a_revoked_link_is_refused(client, northwind, ada):
    invitation = invite(ada, northwind.workspace, "nina@northwind.example", Role.OPERATOR)
    client.force_login(ada)
    assert client.post(f"/settings/invitations/{invitation.pk}/revoke/").status_code == 302
    response = Client().get(path_of(link_in(mail.outbox[0])))
    assert response.status_code == 410 and "withdrawn" in response.content.decode()
    assert AuditEntry.objects.filter(action="invitation.revoked").exists()


def test_resending_mails_the_link_again_and_extends_it(client, northwind, ada):
    invitation = invite(ada, northwind.workspace, "nina@northwind.example", Role.OPERATOR)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + timedelta(hours=1))
    client.force_login(ada)
    assert client.post(f"/settings/invitations/{invitation.pk}/resend/").status_code == 302
    assert len(mail.outbox) == 2
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + timedelta(days=6)


def test_someone_with_an_account_signs_in_then_accepts(northwind, contoso, oscar, ada):
    invite(ada, northwind.workspace, oscar.email.upper(), Role.EXECUTIVE)
    path = path_of(link_in(mail.outbox[0]))
    browser = Client()
    page = browser.get(path)
    assert page.status_code == 200 and "Sign in to accept" in page.content.decode()
    assert browser.post(path)["Location"].startswith("/login/?next=")

    signed_in = browser.post(f"/login/?next={path}", {"username": "oscar", "password": PASSWORD})
    assert signed_in["Location"] == path
    assert "Accept invitation" in browser.get(path).content.decode()
    assert browser.post(path)["Location"] == "/"

    assert Membership.objects.get(user=oscar, workspace=northwind.workspace).role == Role.EXECUTIVE
    assert browser.get("/").context["workspace"] == northwind.workspace
    assert AuditEntry.objects.for_workspace(northwind.workspace).filter(action="invitation.accepted", actor=oscar)


def test_someone_signed_in_as_another_account_cannot_accept(client, northwind, ada, olivia):
    invite(ada, northwind.workspace, "nina@northwind.example", Role.ADMIN)
    client.force_login(olivia)
    response = client.post(path_of(link_in(mail.outbox[0])))
    assert response.status_code == 403 and "Sign out" in response.content.decode()
    assert Invitation.objects.get().accepted_at is None


def test_inviting_a_member_is_a_form_error(client, northwind, ada, olivia):
    client.force_login(ada)
    response = client.post("/settings/members/", {"email": "OLIVIA@example.com", "role": Role.ADMIN})
    assert response.status_code == 400
    assert "is a member of Northwind already" in " ".join(response.context["invite_form"].errors["email"])
    assert not Invitation.objects.exists() and not mail.outbox


def test_a_weak_password_is_refused_by_djangos_rules(northwind, ada):
    invite(ada, northwind.workspace, "nina@northwind.example", Role.OPERATOR)
    response = Client().post(path_of(link_in(mail.outbox[0])), {**NEW_PERSON, "password1": "nina", "password2": "nina"})
    assert response.status_code == 400 and response.context["form"].errors["password1"]
    assert not get_user_model().objects.filter(username="nina").exists()


def test_the_mail_of_a_partners_firm_names_the_partner(northwind, ada):
    partner = Partner.objects.create(name="Ledgerline Partners")
    Workspace.objects.filter(pk=northwind.workspace.pk).update(partner=partner)
    northwind.workspace.refresh_from_db()
    invite(ada, northwind.workspace, "nina@northwind.example", Role.OPERATOR)
    [message] = mail.outbox
    assert "Ledgerline Partners" in message.subject and "Ledgerline Partners" in message.body
    assert message.from_email.startswith("Ledgerline Partners <")


@pytest.mark.parametrize("who", ["olivia", "oscar"])
def test_only_the_firms_admins_invite(client, northwind, ada, olivia, oscar, who):
    client.force_login({"olivia": olivia, "oscar": oscar}[who])
    client.post("/settings/members/", {"email": "nina@northwind.example", "role": Role.ADMIN})
    assert not Invitation.objects.filter(workspace=northwind.workspace).exists()


def test_an_address_longer_than_an_invitation_holds_is_a_form_error_and_nothing_is_sent(client, northwind, ada):
    client.force_login(ada)
    response = client.post("/settings/members/", {"email": "a" * 300 + "@example.com", "role": "operator"})
    assert response.status_code == 400  # the members page answers a refused form with 400, as its others
    assert "Ensure this value has at most 254 characters" in response.content.decode()
    assert not Invitation.objects.exists() and not mail.outbox
