"""The demo's cast, decided before any row is written: sizes, firms, people, clients, projects.

Everything here is small (hundreds of people, not millions of rows) and drawn
from one seeded ``random.Random``, so the same seed always tells the same story.
The stories that make queues and dashboards interesting are planted here on
purpose: a project the ERP does not know yet, a person whose new rate the ERP
contract lacks, a client whose tax code is missing, a manager who stopped
approving. (The project nobody invoiced for two months is planted with the
invoices, in ``invoices.py``.)
"""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from opsview.demo import catalog
from opsview.env import envint

DEMO_DAYS = 183
# OPSVIEW_DEMO_PEOPLE makes ``make run``'s demo (and its ERP) smaller: the tests of ``make run`` start it in seconds.
DEFAULT_PEOPLE = envint("OPSVIEW_DEMO_PEOPLE", 150)
DEFAULT_ENTRIES_PER_PERSON_DAY = 2.0
PEOPLE_PER_WORKSPACE = 600
PROJECTS_PER_PERSON = 40 / 150
MIN_PEOPLE_PER_WORKSPACE = 8
# Workspaces are not all the same size; the first is the largest so the demo logins see the most.
SIZE_WEIGHTS = (1.25, 1.0, 0.8, 1.1, 0.9, 1.2, 0.85, 1.05)
ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)  # a fix that happened before the demo's window


@dataclass(frozen=True)
class Sizes:
    """How much to generate. ``time_entries`` and ``sync_events`` are approximate totals; None means natural."""

    workspaces: int
    people: int
    projects: int
    time_entries: int | None = None
    sync_events: int | None = None

    @classmethod
    def resolve(cls, workspaces=None, people=None, time_entries=None, sync_events=None):
        """Fill in what was not asked for from what was: entries imply people, people imply workspaces."""
        entries_per_person = DEFAULT_ENTRIES_PER_PERSON_DAY * DEMO_DAYS * 5 / 7 * 0.9
        if people is None:
            people = DEFAULT_PEOPLE if time_entries is None else max(1, round(time_entries / entries_per_person))
        if workspaces is None:
            workspaces = max(2, math.ceil(people / PEOPLE_PER_WORKSPACE))
        workspaces = max(1, workspaces)
        people = max(people, workspaces * MIN_PEOPLE_PER_WORKSPACE)
        projects = max(workspaces * 6, round(people * PROJECTS_PER_PERSON))
        return cls(workspaces, people, projects, time_entries, sync_events)

    def split(self, total, index):
        """Workspace ``index``'s share of ``total``, by the uneven size weights."""
        weights = [SIZE_WEIGHTS[i % len(SIZE_WEIGHTS)] for i in range(self.workspaces)]
        shares = [total * w / sum(weights) for w in weights]
        counts = [int(s) for s in shares]
        for i in sorted(range(self.workspaces), key=lambda i: counts[i] - shares[i])[: total - sum(counts)]:
            counts[i] += 1
        return counts[index]


def at(day, hour, offset_hours):
    """The UTC instant of ``hour`` o'clock (fractions allowed) local time on ``day`` in a firm at ``offset_hours``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour - offset_hours)


def month_index(day):
    return day.year * 12 + day.month - 1


def first_open_day(today):
    """The first day of the earliest month the ERP has not closed yet (a month closes on the ninth of the next)."""
    current = month_index(today)
    return month_start(current if today.day > 9 else current - 1)


def month_start(index):
    return date(index // 12, index % 12 + 1, 1)


@dataclass(eq=False)
class PersonPlan:
    external_id: str
    name: str
    email: str
    role: catalog.JobRole
    rate: int
    weekly_hours: int
    start: date
    end: date
    old_rate: int | None = None  # the rate before ``rate_changed_on``
    rate_changed_on: date | None = None
    contract_updated_at: datetime | None = None  # when the ERP learned the new rate; None: not yet
    approval_hours: float = 24.0  # median time this person takes to approve time on their projects
    vacation: frozenset = frozenset()
    assignments: list = field(default_factory=list)  # (project, weight)
    has_left: bool = False
    pk: int | None = None

    def rate_on(self, day):
        return self.old_rate if self.rate_changed_on is not None and day < self.rate_changed_on else self.rate


@dataclass(eq=False)
class ClientPlan:
    external_id: str
    name: str
    terms_days: int
    pays_late_days: int
    tax_code: str
    tax_code_fixed_at: datetime | None = ALWAYS  # when the ERP got the client's tax code; None: not yet
    old_tax_code: str = ""  # the code used before ``tax_code_changed_at``
    tax_code_changed_at: datetime = ALWAYS
    pk: int | None = None

    def tax_code_on(self, t):
        return self.tax_code if t >= self.tax_code_changed_at else self.old_tax_code


@dataclass(eq=False)
class InvoiceSlot:
    """The invoice of one project for one month, planned before the time it bills exists."""

    project: "ProjectPlan"
    period: int  # month index of the work it bills
    created_at: datetime  # drafted in the billing system; time approved and synced after this waits
    issued_at: datetime
    voided_at: datetime | None = None  # set when a first invoice was voided and this one replaced it
    number: str = ""
    external_id: str = ""
    void_number: str = ""
    void_external_id: str = ""
    cents: int = 0
    quarters_by_rate: dict = field(default_factory=dict)
    dated_on: date | None = None  # dated back to the billed month's last day instead of its issue day


@dataclass(eq=False)
class ProjectPlan:
    external_id: str
    code: str
    name: str
    client: ClientPlan
    billable: bool
    start: date
    end: date
    tasks: tuple
    manager: PersonPlan | None = None
    erp_mapped_at: datetime | None = ALWAYS  # None: the ERP still does not know the project code
    billing_mapped_at: datetime | None = ALWAYS
    approvals_stop_at: datetime | None = None  # the manager stopped approving (on leave, say)
    invoice_delay_days: int = 3
    erp_service: str = ""  # the service product the ERP bills the project with; "": the firm's usual one
    erp_service_since: datetime | None = None  # when the ERP moved the project to ``erp_service``
    slots: list = field(default_factory=list)
    pk: int | None = None


@dataclass(eq=False)
class WorkspacePlan:
    index: int
    firm: catalog.Firm
    name: str
    slug: str
    start: date  # first day with time entries
    people: list
    clients: list
    projects: list
    lead: PersonPlan  # manages the most projects; in the first workspace, the demo manager's person

    @property
    def offset(self):
        return self.firm.utc_offset_hours


def firm_for(index):
    """The catalogue firm for workspace ``index``; past the catalogue, numbered copies."""
    firm = catalog.FIRMS[index % len(catalog.FIRMS)]
    round_ = index // len(catalog.FIRMS)
    if round_ == 0:
        return firm, firm.name, firm.slug
    return firm, f"{firm.name} {round_ + 1}", f"{firm.slug}-{round_ + 1}"


def plan_workspace(rng, sizes, index, today):
    """Plan one firm: its people, clients and projects, with the planted problems."""
    firm, name, slug = firm_for(index)
    start = today - timedelta(days=DEMO_DAYS - 1)
    people = _people(rng, firm, sizes.split(sizes.people, index), start, today)
    n_projects = max(6, sizes.split(sizes.projects, index))
    clients = _clients(rng, firm, max(2, round((n_projects - 3) / 2.5)), start, today)
    projects, lead = _projects(rng, firm, people, clients, n_projects, start, today)
    plan = WorkspacePlan(index, firm, name, slug, start, people, clients, projects, lead)
    _plant_rate_changes(rng, firm, people, start, today)
    _plant_unbooked_service(plan, today)
    return plan


def _plant_unbooked_service(plan, today):
    """One running engagement the ERP moved to a new service product set up without a revenue account.

    Its invoices of the last weeks cannot be booked there; one dated in a month the ERP has closed
    since also needs that period reopened once booked. Chosen without drawing from ``rng``, so the
    rest of the demo stays as it was.
    """
    # The lead's project whose invoicing stalls (``invoices._stalled_invoicing``) tells its own story.
    lead_owned = [p for p in plan.projects if p.billable and p.manager is plan.lead and p.start <= plan.start]
    candidates = [
        p
        for p in plan.projects
        if p.billable
        and p.end >= today
        and p.start < today - timedelta(days=120)
        and p.approvals_stop_at is None
        and p.erp_mapped_at is not None
        and p.client.tax_code_fixed_at is not None
        and p not in lead_owned[:1]
    ]
    if candidates:
        project = candidates[-1]
        project.erp_service = catalog.UNBOOKED_SERVICE
        project.erp_service_since = at(today - timedelta(days=75), 10, plan.offset)


def _people(rng, firm, count, start, today):
    pairs = [(first, last) for first in catalog.FIRST_NAMES for last in catalog.LAST_NAMES]
    names = rng.sample(pairs, k=min(count, len(pairs)))
    while len(names) < count:  # more people than name pairs: the later ones get a middle initial
        first, last = pairs[len(names) % len(pairs)]
        names.append((f"{first} {chr(65 + len(names) // len(pairs) % 26)}.", last))
    roles = []
    for role in catalog.ROLES:
        roles += [role] * max(1, round(role.share * count))
    roles = (roles + [catalog.ROLES[3]] * count)[:count]
    people = []
    for i, ((first, last), role) in enumerate(zip(names, roles, strict=False)):
        rate = 5 * round(role.rate * firm.rate_factor * rng.uniform(0.93, 1.07) / 5)
        joined = start if rng.random() > 0.06 else start + timedelta(days=rng.randrange(20, 150))
        left = None if rng.random() > 0.04 else min(today, max(joined, start) + timedelta(days=rng.randrange(40, 120)))
        vacation = set()
        for _ in range(rng.choice((1, 1, 2))):
            monday = start + timedelta(days=rng.randrange(0, 170))
            monday -= timedelta(days=monday.weekday())
            vacation.update(monday + timedelta(days=d) for d in range(5))
        email_name = re.sub(r"[^a-z]+", ".", f"{first} {last}".lower().replace("'", ""))
        people.append(
            PersonPlan(
                external_id=f"E-{101 + i}",
                name=f"{first} {last}",
                email=f"{email_name}@{firm.domain}",
                role=role,
                rate=rate,
                weekly_hours=rng.choices((40, 32, 24), (85, 10, 5))[0],
                start=joined,
                end=left or today,
                approval_hours=rng.uniform(6, 30),
                vacation=frozenset(vacation),
                has_left=left is not None and left < today,
            )
        )
    return people


def _clients(rng, firm, count, start, today):
    names = list(catalog.CLIENT_NAMES)
    rng.shuffle(names)
    clients = []
    for i in range(count):
        name = names[i % len(names)] + ("" if i < len(names) else f" {i // len(names) + 1}")
        clients.append(
            ClientPlan(
                external_id=f"CL-{1001 + i}",
                name=name,
                terms_days=rng.choice(catalog.PAYMENT_TERMS_DAYS),
                pays_late_days=rng.choices((0, 5, 20), (70, 22, 8))[0],
                tax_code=firm.tax_code,
            )
        )
    # A foreign client whose reverse-charge tax code the ERP lacked for months, fixed since;
    # and a client that moved abroad lately, whose new code is still missing, so its invoices cannot post.
    clients[0].tax_code = firm.reverse_charge_code
    clients[0].tax_code_fixed_at = at(start + timedelta(days=95), 11, firm.utc_offset_hours)
    if len(clients) > 3:
        moved = clients[-1]
        moved.old_tax_code, moved.tax_code = moved.tax_code, firm.reverse_charge_code
        moved.tax_code_changed_at = at(today - timedelta(days=rng.randrange(40, 55)), 9, firm.utc_offset_hours)
        moved.tax_code_fixed_at = None
    return clients


def _projects(rng, firm, people, clients, count, start, today):
    internal_client = ClientPlan(f"CL-{1000}", f"{firm.name} (internal)", 30, 0, firm.tax_code)
    clients.insert(0, internal_client)
    leaders = [p for p in people if p.role.manages] or people[:1]
    partners = [p for p in people if p.role.title == "Partner"] or leaders
    projects = []
    for i, (title, tasks) in enumerate(catalog.INTERNAL_PROJECTS):
        code = f"{firm.code}-INT-{i + 1:02d}"
        projects.append(
            ProjectPlan(
                code, code, title, internal_client, False, start - timedelta(days=400), today, tasks, partners[0]
            )
        )
    billable_clients = clients[1:]
    # One principal manages four projects so the demo manager has a portfolio; the rest spread out.
    lead = next((p for p in leaders if p.role.title == "Principal consultant"), leaders[0])
    managers = [lead] * 4 + [p for p in leaders if p is not lead for _ in range(p.role.manages)]
    for k in range(count - len(projects)):
        title, tasks = catalog.ENGAGEMENTS[rng.randrange(len(catalog.ENGAGEMENTS))]
        client = billable_clients[k % len(billable_clients)]
        code = f"{firm.code}-{401 + k * 7 + rng.randrange(7):04d}"
        roll = rng.random()
        begin, end = start - timedelta(days=rng.randrange(30, 300)), today
        if roll < 0.2:
            begin = start + timedelta(days=rng.randrange(10, 150))
        elif roll < 0.35:
            end = start + timedelta(days=rng.randrange(60, 170))
        manager = managers[k] if k < len(managers) else rng.choice(leaders)
        project = ProjectPlan(code, code, f"{client.name.split()[0]} {title}", client, True, begin, end, tasks, manager)
        project.invoice_delay_days = rng.choices((2, 4, 6, 12), (35, 35, 20, 10))[0]
        if begin > start:
            # New projects reach the ERP and the billing system a few days after the first hours are booked.
            project.erp_mapped_at = at(begin + timedelta(days=rng.randrange(3, 12)), 11, firm.utc_offset_hours)
            project.billing_mapped_at = at(begin + timedelta(days=rng.randrange(1, 4)), 10, firm.utc_offset_hours)
        projects.append(project)
    billable = [p for p in projects if p.billable]
    newest = billable[-1]
    newest.start, newest.end = today - timedelta(days=rng.randrange(18, 30)), today
    newest.erp_mapped_at = None  # still not set up in the ERP: an open group of failures
    newest.billing_mapped_at = at(newest.start + timedelta(days=1), 10, firm.utc_offset_hours)
    stalled = next((p for p in billable if p.manager not in (lead, partners[0]) and p is not newest), billable[0])
    stalled.manager.approval_hours = rng.uniform(120, 200)  # the slow approver of the firm
    stalled.approvals_stop_at = at(today - timedelta(days=rng.randrange(20, 35)), 12, firm.utc_offset_hours)
    _staff(rng, people, projects, partners)
    return projects, lead


def _staff(rng, people, projects, partners):
    internal = [p for p in projects if not p.billable]
    billable = [p for p in projects if p.billable]
    pool = people[:]
    rng.shuffle(pool)
    for i, project in enumerate(billable):
        # Everyone who manages a project also books time on it, and every project has a team.
        if project.manager is not None:
            project.manager.assignments.append((project, 3.0))
        team = [pool[(i * 5 + j) % len(pool)] for j in range(3)]
        for person in team:
            person.assignments.append((project, rng.uniform(2, 6)))
    for person in people:
        while sum(1 for p, _ in person.assignments if p.billable) < 2:
            person.assignments.append((rng.choice(billable), rng.uniform(1, 5)))
        is_partner = person in partners
        person.assignments.append((internal[0], 1.2 if is_partner else 0.3))
        person.assignments.append((internal[1], 2.0 if is_partner else 0.15))
        person.assignments.append((internal[2], 0.25))


def _plant_rate_changes(rng, firm, people, start, today):
    """Two people got a rate rise the ERP contract learned of late; one whose contract still lags."""
    seniors = [p for p in people if p.role.title in ("Senior consultant", "Principal consultant")] or people
    picked = rng.sample(seniors, k=min(3, len(seniors)))
    for n, person in enumerate(picked):
        person.old_rate = person.rate
        person.rate = person.old_rate + 10
        if n < len(picked) - 1:
            first = month_start(month_index(start) + 2 + n)
            person.rate_changed_on = first
            person.contract_updated_at = at(first + timedelta(days=rng.randrange(8, 20)), 16, firm.utc_offset_hours)
        else:
            person.rate_changed_on = month_start(month_index(today))
            if (today - person.rate_changed_on).days < 7:
                person.rate_changed_on = month_start(month_index(today) - 1)
            person.contract_updated_at = None
