"""Charts that don't mislead: value axes from zero, a top ten that says when fewer exist, long names cut at
their end with the whole name on hover, and a manager's client filter holding only the clients they can see.

Read from the figure each page hands plotly (tests/test_dashboard_browser.py checks that plotly draws them).
"""

import re

import pytest

from opsview.dashboards.chart_rules import layout, shortened, top_title
from opsview.workspaces.roles import Role
from tests.conftest import make_user, signed_in
from tests.dashboard_support import PERIOD, dashboard_books
from tests.page_support import figure, select, text

CHARTS = ("aging", "wip-trend", "billing-lag", "sync", "exceptions", "worst-clients", "worst-projects")


def value_axes(spec, name="y"):
    return {key: axis for key, axis in spec["layout"].items() if re.fullmatch(f"{name}axis[0-9]*", key)}


@pytest.fixture
def books(db):
    return dashboard_books()


def test_every_value_axis_of_the_executive_dashboard_starts_at_zero(client, books):
    signed_in(client, make_user("erin", books.workspace, Role.EXECUTIVE))
    page = client.get(f"/dashboards/executive/?{PERIOD}").content.decode()
    drawn = [key for key in CHARTS if f'id="figure-{key}"' in page]
    assert {"aging", "billing-lag", "worst-clients", "worst-projects"} <= set(drawn)
    for key in drawn:
        spec = figure(page, key)
        horizontal = any(trace.get("orientation") == "h" for trace in spec["data"])
        axes = value_axes(spec, "x" if horizontal else "y")
        assert axes, key
        for name, axis in axes.items():
            assert axis.get("rangemode") == "tozero" or axis.get("range", [None])[0] == 0, (key, name, axis)


def test_the_billing_timeline_counts_hours_and_invoice_amounts_from_zero(client, books):
    signed_in(client, make_user("erin", books.workspace, Role.EXECUTIVE))
    page = client.get(f"/dashboards/projects/{books.a1.pk}/?{PERIOD}").content.decode()
    spec = figure(page, "timeline")
    assert any(trace.get("yaxis") == "y2" and trace["y"] for trace in spec["data"])  # the invoice is drawn
    axes = value_axes(spec)
    assert set(axes) == {"yaxis", "yaxis2"}
    assert {axis["rangemode"] for axis in axes.values()} == {"tozero"}


def test_an_axis_starts_elsewhere_only_with_a_note_on_the_chart():
    with pytest.raises(ValueError, match="not_from_zero"):
        layout(yaxis={"range": [90, 100]})
    shown = layout(yaxis={"range": [90, 100]}, not_from_zero="The axis starts at 90%.")
    assert shown["yaxis"]["range"] == [90, 100]
    assert [note["text"] for note in shown["annotations"]] == ["The axis starts at 90%."]


def test_a_top_ten_chart_says_when_fewer_exist(client, books):
    signed_in(client, make_user("erin", books.workspace, Role.EXECUTIVE))
    page = client.get(f"/dashboards/executive/?{PERIOD}")
    titles = [text(h2) for h2 in select(page.content.decode(), "section#chart-worst-clients h2")]
    # Acme and Initech bill in EUR, Globex in USD: ranked per currency, each has fewer than ten.
    assert titles[0].startswith("Clients with the most unbilled value: 2 in EUR, 1 in USD (fewer than 10 per currency)")

    page = client.get(f"/dashboards/executive/?{PERIOD}&client={books.acme.pk}")
    (title,) = select(page.content.decode(), "section#chart-worst-projects h2")
    assert text(title).startswith("1 project with unbilled value (fewer than 10)")


def test_a_full_top_ten_keeps_its_title():
    rows = [{"currency": "EUR"}] * 10
    assert top_title("Clients with the most unbilled value", rows, "client") == "Clients with the most unbilled value"
    assert top_title("Clients", rows[:7], "client") == "7 clients with unbilled value (fewer than 10)"


def test_a_long_project_name_is_cut_at_its_end_and_whole_on_hover(client, books):
    long_name = "Acme enterprise resource planning rollout, phase two: Europe"
    books.a1.name = long_name
    books.a1.save()
    signed_in(client, make_user("erin", books.workspace, Role.EXECUTIVE))
    spec = figure(client.get(f"/dashboards/executive/?{PERIOD}").content.decode(), "worst-projects")

    ticks = dict(zip(spec["layout"]["yaxis"]["tickvals"], spec["layout"]["yaxis"]["ticktext"], strict=True))
    whole = f"{long_name} (EUR)"
    assert ticks[whole] == "Acme enterprise resourc… (EUR)"  # the beginning people know, then an ellipsis
    # The hover shows the whole name.
    (trace,) = [t for t in spec["data"] if whole in t["y"]]
    # The hover shows the whole name and the amount as every page writes money: the currency first.
    assert trace["hovertemplate"] == "%{hovertext}: EUR %{x:,.2f}<extra></extra>"
    assert trace["hovertext"][trace["y"].index(whole)] == long_name
    assert ticks["Initech audit (EUR)"] == "Initech audit (EUR)"  # a short name stays whole


def test_a_name_is_cut_only_when_longer_than_the_margin_holds():
    assert shortened("x" * 24) == "x" * 24
    assert shortened("y" * 40) == "y" * 23 + "…"


def test_a_managers_client_filter_offers_only_the_clients_of_their_projects(client, books):
    mara = make_user("mara", books.workspace, Role.MANAGER)
    books.mara.user = mara
    books.mara.save()
    signed_in(client, mara)
    for path in ("/dashboards/projects/", "/dashboards/executive/"):
        page = client.get(f"{path}?{PERIOD}").content.decode()
        options = [text(o) for o in select(page, "select[name=client] option")]
        assert options in (["all", "Acme"], []), (path, options)
    page = client.get(f"/dashboards/projects/?{PERIOD}").content.decode()
    assert [text(o) for o in select(page, "select[name=client] option")] == ["all", "Acme"]


def test_an_executive_client_filter_offers_every_client(client, books):
    signed_in(client, make_user("erin", books.workspace, Role.EXECUTIVE))
    page = client.get(f"/dashboards/projects/?{PERIOD}").content.decode()
    assert [text(o) for o in select(page, "select[name=client] option")] == ["all", "Acme", "Globex", "Initech"]
