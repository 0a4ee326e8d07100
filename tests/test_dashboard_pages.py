"""Dashboard pages: what each role sees on the executive dashboard, in CSV, on the manager view and the project page."""

import json
import re

from opsview.records.models import Invoice, TimeEntry
from tests.conftest import signed_in
from tests.kpi_books import at

PERIOD = "start=2026-11-01&end=2026-11-20"


def figures(response):
    """The plotly figures embedded in a page, by key."""
    found = re.findall(r'<script id="figure-([\w-]+)" type="application/json">(.*?)</script>', response.text, re.S)
    return {key: json.loads(body) for key, body in found}


def test_executive_dashboard_shows_tiles_charts_and_definitions(client, northwind, erin):
    page = signed_in(client, erin).get(f"/dashboards/executive/?{PERIOD}")
    text = page.text
    assert page.status_code == 200
    assert re.search(r"Unapproved time</a></span>\s*<span class=\"value\">15.00 h</span>", text)
    for title in (
        "Unapproved time aging",
        "Unbilled WIP over time",
        "Billing lag",
        "Sync success rate",
        "Clients with the most unbilled value",
        "Projects with the most unbilled value",
    ):
        assert f"<h2>{title}" in text
    assert "bucketed by days since the work date: 0–7, 8–14, 15–30, 31–60, over 60." in text
    assert "Succeeded ÷ (succeeded + failed) record events, per system, flow and day." in text
    assert "/static/vendor/plotly/plotly-basic.min.js" in text and "cdn.plot.ly" not in text


def test_aging_bars_link_to_the_entries_behind_them(client, northwind, erin):
    aging = figures(signed_in(client, erin).get(f"/dashboards/executive/?{PERIOD}"))["aging"]
    [submitted] = aging["data"]
    assert submitted["name"] == "Submitted"
    assert submitted["y"] == [0, 0, 15.0, 0, 0]
    link = submitted["customdata"][2]
    assert link.startswith("/records/time-entries/?") and "status=unapproved" in link and "age=15-30" in link
    listing = client.get(link)
    assert "2</strong> entries" in listing.text and "15.00</strong> h" in listing.text


def test_the_table_fallback_has_the_same_numbers(client, northwind, erin):
    text = signed_in(client, erin).get(f"/dashboards/executive/?{PERIOD}").text
    row = re.search(r"<tr><td>15–30 days</td>(.*?)</tr>", text, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["2", "15.00", "2,250.00"]
    assert "status=unapproved" in row and "records →" in row


def test_a_manager_sees_their_projects_figures_only(client, northwind, max_manager):
    page = signed_in(client, max_manager).get(f"/dashboards/executive/?{PERIOD}")
    assert re.search(r"<span class=\"value\">7.50 h</span>", page.text)
    assert "Northwind Audit" not in page.text


def test_change_against_the_previous_period(client, northwind, erin):
    TimeEntry.objects.filter(project=northwind.other_project).update(work_date="2026-10-20")
    page = signed_in(client, erin).get("/dashboards/executive/?start=2026-11-01&end=2026-11-20")
    # On 31 October only the entry dated 20 October was waiting: 7.5 h then, 15 h now.
    assert re.search(r'class="change worse">\+7.50 h <span class="was">vs 7.50 h</span>', page.text)


def test_filters_the_outsider_cannot_see_are_404(client, northwind, contoso, oscar):
    signed_in(client, oscar)
    assert client.get(f"/dashboards/executive/?client={northwind.client.pk}").status_code == 404
    assert client.get(f"/dashboards/projects/?client={northwind.client.pk}").status_code == 404
    assert client.get(f"/records/time-entries/?project={northwind.managed_project.pk}").status_code == 404
    own = client.get(f"/dashboards/executive/?{PERIOD}")
    assert "Contoso" in own.text and "Northwind" not in own.text


def test_malformed_filters_explain_themselves(client, northwind, erin):
    page = signed_in(client, erin).get("/dashboards/executive/?start=2026-11-20&end=2026-11-01")
    assert page.status_code == 400
    assert "start: must not be after end." in page.text
    listing = client.get("/records/time-entries/?status=unapproved&age=3-4")
    assert listing.status_code == 400 and "age: must be one of" in listing.text


def test_chart_data_as_csv(client, northwind, erin):
    response = signed_in(client, erin).get(f"/dashboards/executive/aging.csv?{PERIOD}")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="northwind-aging-2026-11-01-2026-11-20.csv"' in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0] == "Age,Entries,Hours,Value EUR"
    assert lines[3] == "15–30 days,2,15.00,2250.00"
    assert client.get("/dashboards/executive/nonsense.csv").status_code == 404


def test_every_executive_chart_exports(client, northwind, erin):
    signed_in(client, erin)
    keys = {
        "aging",
        "wip-trend",
        "billing-lag",
        "sync",
        "straight-through",
        "exceptions",
        "worst-clients",
        "worst-projects",
    }
    for key in keys:
        response = client.get(f"/dashboards/executive/{key}.csv?{PERIOD}")
        assert response.status_code == 200, key
        assert response.content.decode().count("\n") >= 1


def test_the_manager_view_lists_only_the_managers_projects(client, northwind, max_manager):
    page = signed_in(client, max_manager).get(f"/dashboards/projects/?{PERIOD}")
    text = page.text
    assert "<h1>My projects</h1>" in text
    assert "Northwind Rollout" in text and "Northwind Audit" not in text
    assert "Wendy Worker: 7.50 h unapproved, oldest 18 days" in text
    assert "1 record failed to post to the ERP" in text


def test_the_manager_view_shows_billing_in_money(client, northwind, erin):
    TimeEntry.objects.filter(project=northwind.managed_project).update(
        status="approved", approved_at=at("2026-11-03 10:00"), invoice_reference="NW-7"
    )
    Invoice.objects.create(
        workspace=northwind.workspace,
        system=northwind.harvest,
        external_id="I-7",
        number="NW-7",
        client=northwind.client,
        project=northwind.managed_project,
        amount="1125.00",
        currency="EUR",
        status="paid",
        issue_date="2026-11-05",
        paid_at=at("2026-11-15 10:00"),
    )
    text = signed_in(client, erin).get(f"/dashboards/projects/?{PERIOD}").text
    assert "Northwind Audit" in text
    row = re.search(rf'<tr data-project="{northwind.managed_project.pk}">(.*?)</tr>', text, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r'<td class="num">(.*?)</td>', row, re.S)]
    assert cells == ["7.50", "0.00", "—", "EUR 1,125.00", "EUR 1,125.00", "1"]


def test_the_project_page_shows_its_timeline_and_blockers(client, northwind, max_manager):
    page = signed_in(client, max_manager).get(f"/dashboards/projects/{northwind.managed_project.pk}/?{PERIOD}")
    assert page.status_code == 200
    timeline = figures(page)["timeline"]
    assert [t["name"] for t in timeline["data"][:3]] == ["approved", "waiting for approval", "rejected"]
    assert timeline["data"][1]["y"] == [7.5]
    assert "Wendy Worker" in page.text and "1 record failed to post to the ERP" in page.text


def test_the_project_page_is_404_beyond_the_users_projects(client, northwind, contoso, max_manager, oscar):
    assert signed_in(client, max_manager).get(f"/dashboards/projects/{northwind.other_project.pk}/").status_code == 404
    assert signed_in(client, oscar).get(f"/dashboards/projects/{northwind.managed_project.pk}/").status_code == 404


def test_pages_need_a_sign_in(client, northwind):
    for url in ("/dashboards/executive/", "/dashboards/projects/", "/dashboards/portfolio/", "/records/time-entries/"):
        assert client.get(url).url.startswith("/login/")


def test_a_role_change_applies_from_the_next_request(client, northwind, erin):
    # Roles are read once per request; a member demoted or removed must not keep them on later pages.
    from opsview.workspaces.models import Membership
    from opsview.workspaces.roles import Role

    signed_in(client, erin)
    assert client.get("/dashboards/executive/").status_code == 200
    assert client.get("/audit/").status_code == 200
    Membership.objects.filter(user=erin).update(role=Role.MANAGER)
    assert client.get("/audit/").status_code == 403  # the audit trail is not for managers
    Membership.objects.filter(user=erin).delete()
    assert client.get("/api/v1/kpis/billing-lag/").status_code == 404
