"""One queue across the firms a person works in: partner staff see every firm's exceptions with the firm
named, filter by firm, and act on a selection that spans firms, each firm's part checked and audited in that
firm, all or nothing. A person of one firm never sees another's, whatever the query asks."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from opsview.audit.models import AuditEntry
from opsview.queues.models import ExceptionItem, SavedView, Status
from opsview.replay.models import Replay
from opsview.workspaces.models import Membership, Partner, PartnerMembership, PartnerRole, Workspace
from opsview.workspaces.partners import sync_partner_access
from opsview.workspaces.roles import Role
from tests.conftest import CONTOSO_VALUES, make_firm, make_user, signed_in
from tests.queue_support import exceptions, failure, send
from tests.replay_support import failing_to, webhook_system

QUEUE, ACT, REPLAY = "/queues/", "/queues/actions/", "/replays/request/"


def api_of(firm):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {firm.raw_token}")
    return client


@pytest.fixture
def failures(api, northwind, contoso):
    """Three posting failures in Northwind (EUR) and two in Contoso (GBP)."""
    send(api, *[failure(f"NW-{n}", payload={"amount": "500", "currency": "EUR"}) for n in range(3)])
    send(api_of(contoso), *[failure(f"CX-{n}", payload={"amount": "300", "currency": "GBP"}) for n in range(2)])
    return {"northwind": exceptions(northwind), "contoso": exceptions(contoso)}


@pytest.fixture
def partnerops(northwind, contoso):
    """The partner's operator: a member of both firms through the partner."""
    partner = Partner.objects.create(name="Ledgerline Partners", slug="ledgerline")
    Workspace.objects.filter(pk__in=[northwind.workspace.pk, contoso.workspace.pk]).update(partner=partner)
    user = get_user_model().objects.create_user("partnerops", "ops@ledgerline.example", "x")
    PartnerMembership.objects.create(user=user, partner=partner, role=PartnerRole.OPERATOR)
    sync_partner_access(partner)
    return user


def ids(items):
    return list(items.values_list("pk", flat=True))


def shown_records(response):
    page = response.content.decode()
    return {x for x in ("NW-0", "NW-1", "NW-2", "CX-0", "CX-1") if f'data-record="{x}"' in page}


def test_a_partner_operator_sees_both_firms_in_one_queue_with_the_firm_named(client, failures, partnerops):
    signed_in(client, partnerops)

    this_firm = client.get(QUEUE).content.decode()
    assert "data-all-firms href" in this_firm or "data-all-firms" in this_firm  # the switch, for several firms
    response = client.get(QUEUE, {"firm": "all"})

    assert shown_records(response) == {"NW-0", "NW-1", "NW-2", "CX-0", "CX-1"}
    page = response.content.decode()
    assert ">Firm</th>" in page
    assert page.count('data-firm="contoso"') == 2 and page.count('data-firm="northwind"') == 3
    assert "This firm (Contoso)" in page  # the way back to the current firm's queue


def test_a_person_of_one_firm_is_offered_no_switch(client, failures, olivia):
    assert "data-all-firms" not in signed_in(client, olivia).get(QUEUE).content.decode()


def test_the_firm_filter_lists_only_ones_own_firms_and_narrows_to_one(client, failures, partnerops):
    signed_in(client, partnerops)
    Workspace.objects.create(name="Fabrikam", slug="fabrikam")  # not theirs

    response = client.get(QUEUE, {"firm": "northwind"})

    assert shown_records(response) == {"NW-0", "NW-1", "NW-2"}
    page = response.content.decode()
    assert '<option value="northwind" selected>Northwind</option>' in page
    assert '<option value="contoso">Contoso</option>' in page and "fabrikam" not in page.lower()


def test_a_person_of_one_firm_never_sees_another_firms_exceptions(client, failures, olivia, contoso):
    signed_in(client, olivia)

    assert shown_records(client.get(QUEUE, {"firm": "all"})) == {"NW-0", "NW-1", "NW-2"}
    asked_for_contoso = client.get(QUEUE, {"firm": "contoso"})
    assert shown_records(asked_for_contoso) == {"NW-0", "NW-1", "NW-2"}
    assert "Firm: &#x27;contoso&#x27; is not one of your firms; ignored." in asked_for_contoso.content.decode()
    assert CONTOSO_VALUES.event_id not in asked_for_contoso.content.decode()
    export = client.get("/queues/export.csv", {"firm": "contoso"})
    assert export.status_code == 400 and "is not one of your firms" in export.content.decode()
    rows = list(csv.DictReader(io.StringIO(b"".join(client.get("/queues/export.csv", {"firm": "all"})).decode())))
    assert {r["external_id"] for r in rows} == {"NW-0", "NW-1", "NW-2"}
    # Nor acts on them, nor opens them.
    contoso_ids = ids(failures["contoso"])
    client.post(ACT, {"firm": "all", "action": "resolve", "resolution": "duplicate", "ids": contoso_ids})
    assert not failures["contoso"].filter(status=Status.RESOLVED).exists()
    assert client.get(f"/queues/{contoso_ids[0]}/?firm=all").status_code == 404


def test_each_role_sees_what_it_allows_in_each_firm(client, api, northwind, contoso, max_manager):
    Membership.objects.create(user=max_manager, workspace=contoso.workspace, role=Role.OPERATOR)
    send(api, failure("TE-PR-1"), failure("TE-PR-2"))  # of Max's project, and of another
    send(api_of(contoso), failure("CX-0"))

    response = signed_in(client, max_manager).get(QUEUE, {"firm": "all"})

    page = response.content.decode()
    assert 'data-record="TE-PR-1"' in page and 'data-record="TE-PR-2"' not in page
    assert 'data-record="CX-0"' in page
    # A manager comments in Northwind but acts only where they are an operator: claim buttons only on Contoso's.
    claim = exceptions(contoso).get()
    nw = exceptions(northwind).get(external_id="TE-PR-1")
    assert f'value="claim:{claim.pk}"' in page and f'value="claim:{nw.pk}"' not in page


def test_a_bulk_resolve_across_two_firms_is_audited_in_each_firm(client, failures, partnerops, northwind, contoso):
    signed_in(client, partnerops)
    chosen = ids(failures["northwind"]) + ids(failures["contoso"])

    response = client.post(
        ACT,
        {
            "firm": "all",
            "action": "resolve",
            "resolution": "fixed_at_source",
            "note": "period reopened",
            "ids": chosen,
            "next": "/queues/?firm=all",
        },
        follow=True,
    )

    page = response.content.decode()
    assert "5 exceptions resolved (2 in Contoso, 3 in Northwind)." in page  # firms by name
    assert response.redirect_chain[-1][0] == "/queues/?firm=all"
    assert ExceptionItem.objects.filter(pk__in=chosen, status=Status.RESOLVED).count() == 5
    entries = AuditEntry.objects.filter(action="exception.resolve", actor=partnerops)
    assert entries.filter(workspace=northwind.workspace).count() == 3
    assert entries.filter(workspace=contoso.workspace).count() == 2
    assert set(entries.filter(workspace=contoso.workspace).values_list("target_id", flat=True)) == {
        str(pk) for pk in ids(failures["contoso"])
    }


def test_a_batch_with_a_firm_one_may_not_act_in_is_refused_whole(client, failures, northwind, contoso):
    mixed = make_user("mia", northwind.workspace, Role.OPERATOR)
    Membership.objects.create(user=mixed, workspace=contoso.workspace, role=Role.EXECUTIVE)
    chosen = ids(failures["northwind"]) + ids(failures["contoso"])

    response = signed_in(client, mixed).post(
        ACT, {"firm": "all", "action": "resolve", "resolution": "duplicate", "ids": chosen}, follow=True
    )

    page = response.content.decode()
    assert "Nothing was resolved" in page and "in Contoso you are executive (2 of the selected are there)" in page
    assert not ExceptionItem.objects.filter(pk__in=chosen, status=Status.RESOLVED).exists()
    assert not AuditEntry.objects.filter(action="exception.resolve").exists()
    # Northwind's alone, where Mia is an operator, goes through.
    client.post(ACT, {"firm": "all", "action": "resolve", "resolution": "duplicate", "ids": ids(failures["northwind"])})
    assert failures["northwind"].filter(status=Status.RESOLVED).count() == 3


def test_totals_are_per_currency_never_added(client, failures, partnerops):
    page = signed_in(client, partnerops).get(QUEUE, {"firm": "all"}).content.decode()

    assert '<li data-currency="EUR">EUR 1,500.00 at stake in 3 records, 3 exceptions</li>' in page
    assert '<li data-currency="GBP">GBP 600.00 at stake in 2 records, 2 exceptions</li>' in page
    assert "2,100" not in page and "EUR 1,500.00 + GBP" not in page
    assert "orders by amount whatever its currency" in page  # the help text says how money sorts
    groups = client.get(QUEUE, {"firm": "all", "view": "groups"}).content.decode()
    assert "EUR 1,500.00" in groups and "GBP 600.00" in groups


def test_assigning_across_firms_needs_a_teammate_of_each_firm(client, failures, partnerops, olivia):
    signed_in(client, partnerops)
    chosen = ids(failures["northwind"]) + ids(failures["contoso"])

    page = client.post(
        ACT, {"firm": "all", "action": "assign", "assignee": olivia.pk, "ids": chosen}, follow=True
    ).content.decode()
    assert "Nothing was assigned: olivia cannot work exceptions in Contoso." in page
    assert not ExceptionItem.objects.filter(assignee__isnull=False).exists()

    client.post(ACT, {"firm": "all", "action": "assign", "assignee": partnerops.pk, "ids": chosen})
    assert ExceptionItem.objects.filter(pk__in=chosen, assignee=partnerops).count() == 5
    assert AuditEntry.objects.filter(action="exception.assign").values("workspace").distinct().count() == 2
    # Olivia alone, on Northwind's, is fine.
    client.post(ACT, {"firm": "all", "action": "assign", "assignee": olivia.pk, "ids": ids(failures["northwind"])})
    assert failures["northwind"].filter(assignee=olivia).count() == 3


def test_select_all_matching_acts_on_every_match_across_firms(client, failures, partnerops):
    signed_in(client, partnerops)
    page = client.get(QUEUE, {"firm": "all"}).content.decode()
    assert "or all 5 matching, on every page" in page

    client.post(ACT, {"firm": "all", "action": "ignore", "note": "test data", "matching": "firm=all&status=open"})

    assert ExceptionItem.objects.filter(status=Status.IGNORED).count() == 5


def test_a_replay_dry_run_counts_across_firms_and_confirms_the_total(
    client, api, northwind, contoso, partnerops, server
):
    nw = failing_to(api, northwind, webhook_system(northwind, server), "NW-1", "NW-2")
    cx = failing_to(api_of(contoso), contoso, webhook_system(contoso, server), "CX-1")
    chosen = [i.pk for i in (*nw.values(), *cx.values())]
    signed_in(client, partnerops)

    dry = client.post(REPLAY, {"firm": "all", "ids": chosen})

    assert "Dry run: 3 records would be replayed" in dry.content.decode()
    assert '<input type="hidden" name="firm" value="all">' in dry.content.decode()
    assert not Replay.objects.exists()
    selection = dry.context["plan"].selection
    wrong = client.post(REPLAY, {"firm": "all", "ids": chosen, "confirm_count": "2", "selection": selection})
    assert wrong.status_code == 409 and "Type 3." in wrong.content.decode()
    assert not Replay.objects.exists()

    done = client.post(REPLAY, {"firm": "all", "ids": chosen, "confirm_count": "3", "selection": selection})

    assert done.status_code == 302
    assert Replay.objects.filter(workspace=northwind.workspace).count() == 2
    assert Replay.objects.filter(workspace=contoso.workspace).count() == 1
    assert len(set(Replay.objects.values_list("batch", flat=True))) == 1
    audit = AuditEntry.objects.filter(action="exception.replay")
    assert (
        audit.filter(workspace=contoso.workspace).count() == 1
        and audit.filter(workspace=northwind.workspace).count() == 2
    )


def test_a_replay_across_firms_with_a_firm_one_may_not_act_in_is_refused(client, api, northwind, contoso, server):
    mixed = make_user("mia", northwind.workspace, Role.OPERATOR)
    Membership.objects.create(user=mixed, workspace=contoso.workspace, role=Role.EXECUTIVE)
    nw = failing_to(api, northwind, webhook_system(northwind, server), "NW-1")
    cx = failing_to(api_of(contoso), contoso, webhook_system(contoso, server), "CX-1")

    response = signed_in(client, mixed).post(
        REPLAY, {"firm": "all", "ids": [nw["NW-1"].pk, cx["CX-1"].pk]}, follow=True
    )

    assert "Nothing was replayed" in response.content.decode() and not Replay.objects.exists()


def test_an_exception_of_another_of_ones_firms_opens_in_its_firm_and_leads_back(client, failures, partnerops):
    signed_in(client, partnerops)
    current = client.get(QUEUE).context["scope"].current.slug
    other = failures["northwind" if current == "contoso" else "contoso"].first()

    response = client.get(f"/queues/{other.pk}/", {"firm": "all"})

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Switched to {other.workspace.name}, the firm of this exception." in page
    assert response.context["workspace"] == other.workspace  # the header is the item's firm
    assert 'href="/queues/?firm=all"' in page
    group = client.get(f"/queues/groups/{other.group_id}/", {"firm": "all"})
    assert group.status_code == 200 and 'href="/queues/?view=groups&amp;firm=all"' in group.content.decode()
    # The list's own links carry the way back.
    listing = client.get(QUEUE, {"firm": "all"}).content.decode()
    assert f'href="/queues/{other.pk}/?firm=all"' in listing


def test_the_export_and_saved_views_work_across_firms(client, failures, partnerops):
    signed_in(client, partnerops)

    export = client.get("/queues/export.csv", {"firm": "all"})
    assert "all-firms" in export["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(export).decode())))
    assert {(r["firm"], r["external_id"][:2]) for r in rows} == {("Northwind", "NW"), ("Contoso", "CX")}
    assert "firm" not in next(csv.reader(io.StringIO(b"".join(client.get("/queues/export.csv")).decode())))

    saved = client.post("/queues/views/", {"name": "Everything", "query": "firm=all&kind=posting_failure"})
    assert saved.url == "/queues/?firm=all&kind=posting_failure"
    view = SavedView.objects.get(user=partnerops)
    assert view.workspace == client.get(QUEUE).context["scope"].current


def test_the_queue_across_firms_costs_as_many_queries_for_three_firms_as_for_two(client, failures, partnerops):
    signed_in(client, partnerops)

    def queries():
        client.get(QUEUE, {"firm": "all"})
        with CaptureQueriesContext(connection) as captured:
            assert client.get(QUEUE, {"firm": "all"}).status_code == 200
        return len(captured)

    two = queries()
    third = make_firm("Fabrikam", "fabrikam", CONTOSO_VALUES.__class__(event_id="fb-1", client_id="FB-1"))
    third.workspace.partner = Partner.objects.get()
    third.workspace.save()
    sync_partner_access(third.workspace.partner)
    send(api_of(third), failure("FB-0", payload={"amount": "70", "currency": "USD"}))

    assert queries() == two


def test_select_all_matching_in_one_firm_takes_the_lists_filters(client, api, northwind, olivia):
    send(api, *[failure(f"NW-{n}") for n in range(3)], failure("TE-t", "Read timed out after 30s", code="TIMEOUT"))
    signed_in(client, olivia)

    client.post(ACT, {"action": "ignore", "note": "test data", "matching": "kind=posting_failure&status=open"})

    assert set(exceptions(northwind, status=Status.IGNORED).values_list("external_id", flat=True)) == {
        "NW-0",
        "NW-1",
        "NW-2",
    }
    refused = client.post(
        ACT, {"action": "ignore", "note": "x", "matching": "kind=no_such_kind"}, follow=True
    ).content.decode()
    assert "Nothing was done: Kind: &#x27;no_such_kind&#x27; is not one of" in refused
    assert exceptions(northwind, status=Status.IGNORED).count() == 3


def test_a_manager_here_and_operator_there_comments_across_both(client, api, northwind, contoso, max_manager):
    from opsview.queues.models import Comment

    Membership.objects.create(user=max_manager, workspace=contoso.workspace, role=Role.OPERATOR)
    send(api, failure("TE-PR-1"))
    send(api_of(contoso), failure("CX-0"))
    chosen = ids(exceptions(northwind)) + ids(exceptions(contoso))

    signed_in(client, max_manager).post(ACT, {"firm": "all", "action": "comment", "body": "chasing", "ids": chosen})
    assert set(Comment.objects.values_list("workspace__slug", flat=True)) == {"northwind", "contoso"}
    # Resolving needs an operator's role in each firm: Northwind's part refuses the whole.
    client.post(ACT, {"firm": "all", "action": "resolve", "resolution": "duplicate", "ids": chosen})
    assert not ExceptionItem.objects.filter(status=Status.RESOLVED).exists()
