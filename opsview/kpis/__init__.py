"""Every KPI of the brief, defined once.

One function per KPI, each taking a ``Scope`` (a workspace as one user sees it,
a period and optional filters) and aggregating in the database. Dashboards, the
KPI API and the CSV export call these functions; nothing recomputes a KPI
elsewhere. The first paragraph of each KPI's docstring is its definition, shown
as the help text of the chart or tile that displays it.
"""
