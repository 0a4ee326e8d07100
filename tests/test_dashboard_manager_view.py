"""A manager's views show only the projects they manage: their project list, and the executive dashboard's chart
of the worst unbilled projects, in the figure the page hands plotly (that it draws: tests/test_dashboard_browser.py).
"""

from opsview.workspaces.roles import Role
from tests.conftest import make_user, signed_in
from tests.dashboard_support import PERIOD, dashboard_books
from tests.page_support import figure, select, text


def test_the_manager_view_shows_only_the_managers_projects(client, db):
    books = dashboard_books()
    mara = make_user("mara", books.workspace, Role.MANAGER)
    books.mara.user = mara
    books.mara.save()
    signed_in(client, mara)

    page = client.get(f"/dashboards/projects/?{PERIOD}")
    assert [text(h1) for h1 in select(page, "h1")] == ["My projects"]
    first_cells = [select(row, "td")[0] for row in select(page, "tr[data-project]")]
    assert [text(link) for cell in first_cells for link in select(cell, "a")] == ["A1 Acme rollout"]

    page = client.get(f"/dashboards/executive/?{PERIOD}")
    labels = [label for trace in figure(page, "worst-projects")["data"] for label in trace["y"]]
    assert labels == ["Acme rollout (EUR)"]
