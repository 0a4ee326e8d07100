"""Admins set thresholds, SLAs and fix guides per kind, and the masked fields; nobody else may."""

from opsview.audit.models import AuditEntry
from opsview.queues.models import Kind, KindSetting
from opsview.queues.policies import masked_fields_for, policies_for
from tests.conftest import signed_in


def test_an_admin_changes_a_kinds_threshold_sla_and_guide(client, northwind, ada):
    response = signed_in(client, ada).post(
        "/queues/settings/",
        {
            "kind": "unapproved_time",
            "unapproved_time-threshold_days": "3",
            "unapproved_time-sla_hours": "12",
            "unapproved_time-fix_guide": "Chase the approver on Slack.",
        },
        follow=True,
    )

    assert "Settings for &#x27;Time unapproved past cut-off&#x27; saved." in response.content.decode()
    policy = policies_for(northwind.workspace)[Kind.UNAPPROVED_TIME]
    assert (policy.threshold_days, policy.sla_hours, policy.fix_guide) == (3, 12, "Chase the approver on Slack.")
    entry = AuditEntry.objects.get(action="queue_setting.change")
    assert entry.before["threshold_days"] == 7 and entry.after["threshold_days"] == 3


def test_another_workspace_keeps_its_defaults(client, northwind, contoso, ada):
    signed_in(client, ada).post(
        "/queues/settings/",
        {
            "kind": "sync_error",
            "sync_error-threshold_days": "0",
            "sync_error-sla_hours": "2",
            "sync_error-fix_guide": "",
        },
    )

    assert policies_for(contoso.workspace)[Kind.SYNC_ERROR].sla_hours == 8
    assert KindSetting.objects.get().workspace == northwind.workspace


def test_an_admin_sets_the_masked_fields(client, northwind, ada):
    signed_in(client, ada).post("/queues/settings/", {"kind": "masked_fields", "masked_fields": "iban\nsalary\n"})

    assert masked_fields_for(northwind.workspace) == ["iban", "salary"]
    assert "iban\nsalary" in client.get("/queues/settings/").content.decode()


def test_only_admins_see_or_change_the_settings(client, northwind, olivia, erin, oscar):
    for user in (olivia, erin):
        signed_in(client, user)
        assert client.get("/queues/settings/").status_code == 403
        assert client.post("/queues/settings/", {"kind": "masked_fields", "masked_fields": "x"}).status_code == 403
    assert masked_fields_for(northwind.workspace) != ["x"]
    signed_in(client, oscar).post("/queues/settings/", {"kind": "masked_fields", "masked_fields": "x"})
    assert masked_fields_for(northwind.workspace) != ["x"]
