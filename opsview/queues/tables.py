"""The queue's tables: the exceptions table, one column list for the page and its CSV export, and the
counts and groups that the queue page shows beside it.

Each column of ``ExceptionTable`` is one field of the CSV, in the file's order, named as its header. On the
page a column renders its HTML (``render_<name>``: money, badges, links); in the file it gives its plain value
(``value_<name>``). Columns shown only in the file are ``visible=False``; the page's selection box and claim
button are ``exclude_from_export``. ``Meta.sequence`` orders the page's columns.
"""

import inspect
from datetime import datetime, time, timedelta

import django_tables2 as tables
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncDate
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_tables2.utils import A, AttributeDict

from opsview.common.numbers import format_money
from opsview.queues.models import ExceptionGroup, ExceptionItem, Kind, Status

PAGE_SIZE = 50  # rows on a page of the queue and of a group
# Fields whose cells show the choice's label, as django-tables2 shows them.
_CHOICE_FIELDS = {f.name for f in ExceptionItem._meta.get_fields() if getattr(f, "choices", None)}


def _file_only(**kwargs):
    return tables.Column(visible=False, **kwargs)


def _cells(names):
    """A page column's class on its header and its cells: the stylesheet gives the column its width."""
    return {"th": {"class": names}, "td": {"class": names}}


class ExceptionTable(tables.Table):
    """Exceptions as the queue lists them. ``user`` is who looks (their own rows offer no "Claim");
    ``selectable`` and ``claimable`` add the selection box and the claim button for those who may act."""

    id = _file_only(accessor="pk")
    # Only in the queue across the person's firms (page and file alike): which firm's exception a row is.
    firm = tables.Column(verbose_name="Firm", accessor="workspace__name", attrs=_cells("firm-col"))
    kind = tables.Column(verbose_name="Kind", attrs=_cells("kind"))
    status = tables.Column(verbose_name="Status · SLA", attrs=_cells("state"))
    system = _file_only(verbose_name="Failed at", accessor="system__name")  # on the page: in a row's details
    record = tables.Column(verbose_name="Record", accessor="pk", attrs=_cells("record"))
    record_type = _file_only()
    external_id = _file_only()
    client = tables.Column(verbose_name="Client · project", empty_values=(), attrs=_cells("client"))
    project = _file_only(empty_values=())
    amount = tables.Column(verbose_name="Money at stake", attrs=_cells("num money"))
    currency = _file_only()
    record_date = _file_only()
    age_days = tables.Column(verbose_name="Age", attrs=_cells("num age"))
    first_seen_at = _file_only()
    last_seen_at = _file_only()
    sla_due_at = _file_only()
    past_sla = _file_only(accessor="is_past_sla")
    assignee = tables.Column(verbose_name="Assignee", empty_values=(), attrs=_cells("assignee"))
    occurrences = _file_only()
    recurrences = _file_only()
    error_code = _file_only()
    error_message = tables.Column(verbose_name="Error", empty_values=(), attrs=_cells("msg"))
    resolution = _file_only()
    resolution_note = _file_only()
    select = tables.Column(
        verbose_name=mark_safe('<span class="sr-only">Select</span>'),
        accessor="pk",
        exclude_from_export=True,
        attrs=_cells("pick"),
    )
    claim = tables.Column(verbose_name=mark_safe(""), accessor="pk", exclude_from_export=True, attrs=_cells("act"))

    class Meta:
        orderable = False  # the queue's own order (filtersets.SORTS) sorts every page, the file too
        attrs = {"class": "items"}
        row_attrs = {"id": lambda record: f"exception-{record.pk}", "data-record": lambda record: record.external_id}
        # The page's order; the file keeps the order the columns are declared in (see ``as_csv_rows``).
        sequence = ("select", "firm", "amount", "kind", "record", "client", "error_message", "age_days", "status")
        sequence += ("assignee", "claim", "...")

    def __init__(
        self, data, *, user=None, selectable=False, claimable=False, show_firm=False, firms_may=None, **kwargs
    ):
        """``show_firm`` adds the firm column (the queue across firms); ``firms_may`` (``acting_in`` and
        ``commenting_in`` of ``QueueScope.permissions``) offers each row's box and button only in the firms
        where the person's role allows them."""
        shown = (("select", selectable), ("claim", claimable), ("firm", show_firm))
        exclude = [name for name, on in shown if not on]
        super().__init__(data, exclude=exclude, **kwargs)
        self.user = user
        self.show_firm = show_firm
        self.firms_may = firms_may
        # One record can hold several exceptions of different kinds (its ERP posting failed, and the billing
        # system's check finds it issued but not posted): side by side they look like one row twice, so each
        # says what the others are.
        self.on_this_page = {}
        for item in data if isinstance(data, list) else ():
            self.on_this_page.setdefault(_record_key(item), []).append(item)

    def _may(self, record, what):
        return self.firms_may is None or record.workspace_id in self.firms_may[what]

    def render_select(self, record):
        if not (self._may(record, "commenting_in") or self._may(record, "acting_in")):
            return ""
        return format_html('<input type="checkbox" name="ids" value="{}" aria-label="Select {}">', record.pk, record)

    def render_firm(self, record):
        return format_html('<span class="firm" data-firm="{}">{}</span>', record.workspace.slug, record.workspace.name)

    def render_amount(self, record):
        return format_money(record.amount, record.currency)

    def _link(self, url):
        """``href`` (and more) of a link to a row's page. Opened from the queue across firms, the page leads
        back there and switches to the row's firm; it loads whole, not swapped into this one by htmx, for
        the header must show that firm."""
        if self.show_firm:
            return format_html('href="{}?firm=all" hx-boost="false"', url)
        return format_html('href="{}"', url)

    # One line a row: every cell keeps to one line (the stylesheet cuts it with an ellipsis) and carries its
    # whole text in its title; what does not fit the line is in the row's details, under the error.
    def render_record(self, record):
        html = format_html(
            '<a {} title="{} · {} {}">{}</a>',
            self._link(reverse("queue-item", args=[record.pk])),
            record,
            record.record_type,
            record.external_id,
            record,
        )
        others = self._others(record)
        if others:
            html = format_html('<span class="badge differs" title="{}">+{}</span> {}', _also(others), len(others), html)
        return html

    def _others(self, record):
        """The other exceptions of the same record on this page."""
        return [o for o in self.on_this_page.get(_record_key(record), ()) if o.pk != record.pk]

    def render_client(self, record):
        client = record.client.name if record.client_id else "—"
        if not record.project_id:
            return format_html('<span title="{}">{}</span>', client, client)
        both = f"{client} · {record.project}"
        return format_html('<span title="{}">{} <span class="help">· {}</span></span>', both, client, record.project)

    def render_error_message(self, record):
        code = format_html("<code>{}</code> ", record.error_code) if record.error_code else ""
        also = _also(self._others(record))
        return format_html(
            '<details class="more"><summary title="{}">{}{}</summary><div class="more-body"><p>{}</p>'
            '<p class="help">Failed at {} · {} <code class="id">{}</code>{}</p><a {}>its group</a></div></details>',
            record.error_message,
            code,
            truncatechars(record.error_message, 140),
            record.error_message,
            record.system.name,
            record.record_type,
            record.external_id,
            format_html('<br><span class="differs">{}</span>', also) if also else "",
            self._link(reverse("queue-group", args=[record.group_id])),
        )

    def render_age_days(self, value):
        return f"{value} d"

    def render_status(self, record):
        badges = [(record.status, "", record.get_status_display())]
        if record.is_past_sla:
            badges.append(("late", f"SLA was due {timezone.localtime(record.sla_due_at):%Y-%m-%d %H:%M}", "past SLA"))
        html = format_html_join(" ", '<span class="badge {}" title="{}">{}</span>', badges)
        if record.recurrences:
            again = '<span class="badge again" title="Failed again after being resolved">back {}×</span>'
            html = format_html("{} {}", html, format_html(again, record.recurrences))
        return html

    def render_kind(self, record):
        label = record.get_kind_display()
        return format_html('<span title="{}">{}</span>', label, label)

    def render_assignee(self, record):
        if not record.assignee_id:
            return format_html('<span class="help">{}</span>', "nobody")
        name = record.assignee.get_username()
        return format_html('<span title="{}">{}</span>', name, name)

    def render_claim(self, record):
        if record.is_pending and self._may(record, "acting_in") and record.assignee_id != self.user.pk:
            return format_html(
                '<button type="submit" name="quick" value="claim:{}" class="quiet">Claim</button>', record.pk
            )
        return ""

    def page_rows(self):
        """The page's rows as ``(row attributes, [(cell attributes, cell), ...])``, columns in the page's order:
        what django-tables2's rows render, read the cheap way. Each column's way to its cell (render method,
        value, attributes) is found once per table; django-tables2 finds it again for every cell, inspecting
        signatures, which cost more than the rest of the queue page."""
        cells = [(column.attrs["td"].as_html(), self._page_cell(column)) for column in self.columns]
        for index, record in enumerate(self.data):
            attrs = {name: value(record) if callable(value) else value for name, value in self.row_attrs.items()}
            attrs["class"] = " ".join(filter(None, [attrs.get("class"), "odd" if index % 2 else "even"]))
            yield AttributeDict(attrs).as_html(), [(td, cell(record)) for td, cell in cells]

    def _page_cell(self, column):
        """``record → cell`` for the page's column ``column`` (a bound column), as django-tables2 renders it: its
        render method (``render_<name>``, else the column's) given what it asks for, the value being a choice's
        label where the field has choices; the column's default for an empty value."""
        accessor = A(column.accessor)
        field = ExceptionItem._meta.get_field(accessor) if accessor in _CHOICE_FIELDS else None
        parameters = inspect.signature(column.render).parameters.values()
        wants = {p.name for p in parameters}
        everything = any(p.kind == p.VAR_KEYWORD for p in parameters)
        given = {"column": column.column, "bound_column": column, "table": self}
        empty, default = column.column.empty_values, column.default

        def value_of(record):
            if field is not None:
                return getattr(record, f"get_{field.name}_display")()
            value = record
            for bit in accessor.bits:  # attributes only: the rows are model instances, not dicts or lists
                value = getattr(value, bit, None)
                if value is None:
                    break
            return value

        needs_value = bool(empty) or "value" in wants or everything

        def cell(record):
            value = value_of(record) if needs_value else None
            if needs_value and value in empty:
                return default
            arguments = given | {"value": value, "record": record}
            return column.render(**(arguments if everything else {k: v for k, v in arguments.items() if k in wants}))

        return cell

    # The file's plain values, where the page shows more than the value. Each takes the record only.
    def value_firm(self, record):
        return record.workspace.name

    def value_record(self, record):
        return str(record)

    def value_client(self, record):
        return record.client.name if record.client_id else ""

    def value_project(self, record):
        return str(record.project) if record.project_id else ""

    def value_amount(self, record):
        return record.amount

    def value_age_days(self, record):
        return record.age_days

    def value_first_seen_at(self, record):
        return record.first_seen_at.isoformat()

    def value_last_seen_at(self, record):
        return record.last_seen_at.isoformat()

    def value_sla_due_at(self, record):
        return record.sla_due_at.isoformat()

    def value_past_sla(self, record):
        return "yes" if record.is_past_sla else "no"

    def value_assignee(self, record):
        return record.assignee.username if record.assignee_id else ""

    def value_error_message(self, record):
        return record.error_message

    def value_status(self, record):
        return record.get_status_display()

    def as_csv_rows(self, records):
        """The header and one row per record of ``records`` (any iterable: the export streams a queryset's
        ``iterator()``), with the columns the file has, in its order."""
        names = [
            name
            for name, column in self.base_columns.items()
            if not column.exclude_from_export and (name != "firm" or self.show_firm)
        ]
        values = [self._file_value(name) for name in names]
        yield names
        for record in records:
            yield [value(record) for value in values]

    def _file_value(self, name):
        """``record → value`` for the file's column ``name``: its ``value_<name>``, else the field's value
        (a choice's label). Found once per export: django-tables2 would inspect every cell's methods anew,
        which costs more than reading the rows."""
        method = getattr(self, f"value_{name}", None)
        if method is not None:
            return method
        label = getattr(ExceptionItem, f"get_{name}_display", None)
        if label is not None:
            return lambda record: label(record) if getattr(record, name) else ""
        accessor = A(self.base_columns[name].accessor or name)
        return accessor.resolve


def _also(others):
    """What else the same record is in on the page: "Same record, also: …", or "" for nothing else."""
    if not others:
        return ""
    return "Same record, also: " + "; ".join(f"{o.get_kind_display()} in {o.system.name}" for o in others)


def _record_key(item):
    return (item.workspace_id, item.record_type, item.external_id)


def exception_table(user, page, may, show_firm=False):
    """A page of exceptions as ``user`` sees it: selection boxes and claim buttons as ``may`` (their
    ``permissions_of``, or ``QueueScope.permissions`` across firms, firm by firm) allows."""
    selectable = may["can_act"] or may["can_comment"]
    firms_may = {key: may[key] for key in ("acting_in", "commenting_in")} if "acting_in" in may else None
    return ExceptionTable(
        list(page.object_list),
        user=user,
        selectable=selectable,
        claimable=may["can_act"],
        show_firm=show_firm,
        firms_may=firms_may,
    )


def counts(items):
    """Open, snoozed, resolved and ignored counts per kind, and their totals: always in view on the queue page."""
    table = {kind: dict.fromkeys(Status.values, 0) for kind in Kind.values}
    for row in items.order_by().values("kind", "status").annotate(n=Count("*")):
        table[row["kind"]][row["status"]] = row["n"]
    totals = {status: sum(table[k][status] for k in table) for status in Status.values}
    return table, totals


def grouped(items, sort):
    """Rows of ``{group_id, n, money, currency, oldest, last_seen}`` for the groups of ``items``, in the
    queue's ``sort`` as far as groups have it (most money first otherwise).

    ``currency`` is the group's one currency, or "" when its exceptions hold several: their sum is then no
    amount of money, and the page says "mixed currencies" instead of a sum.
    """
    order = {"age": ("oldest", "-money"), "recent": ("-last_seen", "-money"), "recurrences": ("-n", "-money")}
    rows = (
        items.values("group_id")
        .annotate(
            n=Count("id"),
            money=Sum("amount"),
            high_currency=Max("currency"),
            low_currency=Min("currency"),
            oldest=Min("record_date"),
            last_seen=Max("last_seen_at"),
        )
        .order_by(*order.get(sort, ("-money", "-n")), "group_id")
    )
    return rows


def attach_groups(rows):
    """Each row's ``group`` (with its system and firm), fetched in one query, and its ``currency``."""
    groups = ExceptionGroup.objects.select_related("system", "workspace").in_bulk([r["group_id"] for r in rows])
    for row in rows:
        row["group"] = groups[row["group_id"]]
        row["currency"] = row["high_currency"] if row["high_currency"] == row["low_currency"] else ""
    return rows


SPARK_DAYS = 14  # the groups view's trend: new exceptions a day, over this many days up to today


def attach_trends(rows, items):
    """Each group row's ``trend``: an inline SVG of its new exceptions a day over the last ``SPARK_DAYS`` days
    (today last), counted among ``items`` (what the person sees) in one query for every group of the page."""
    today = timezone.localdate()
    first = today - timedelta(days=SPARK_DAYS - 1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    per_group = {row["group_id"]: [0] * SPARK_DAYS for row in rows}
    counted = (
        items.filter(group_id__in=list(per_group), first_seen_at__gte=since)
        .order_by()
        .values("group_id", day=TruncDate("first_seen_at"))
        .annotate(n=Count("id"))
    )
    for one in counted:
        at = (one["day"] - first).days
        if 0 <= at < SPARK_DAYS:
            per_group[one["group_id"]][at] += one["n"]
    for row in rows:
        row["trend"] = sparkline(per_group[row["group_id"]], first)
    return rows


def sparkline(counts, first):
    """Bars of ``counts`` (one a day from ``first``), from zero, as an SVG that says its figures to a screen
    reader; a day without any is a flat mark on the baseline, so an empty fortnight still reads as one."""
    bar, height = 3, 18
    width = len(counts) * (bar + 1) - 1
    top = max(counts) or 1
    days = ", ".join(f"{first + timedelta(days=i):%b %-d} {n}" for i, n in enumerate(counts))
    label = f"New in the last {len(counts)} days: {sum(counts)} ({days})"
    heights = [max(1, round(n / top * height)) for n in counts]
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="{}"></rect>',
        (
            (i * (bar + 1), height - h, bar, h, "on" if n else "off")
            for i, (n, h) in enumerate(zip(counts, heights, strict=True))
        ),
    )
    svg = '<svg class="spark" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" height="{}"><title>{}</title>'
    return format_html(svg + "{}</svg>", label, width, height, width, height, label, bars)
