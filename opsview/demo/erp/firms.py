"""The demo firms' Tryton databases: what each firm's ERP knows, built from the same plan as the demo data.

A firm's database mirrors its plan (``opsview/demo/plan.py``): the company in the
firm's currency, fiscal years over the demo window with monthly periods, those the
ERP has closed closed (the ERP closes a month on the ninth of the next), customers
and employees coded with the demo's external ids, the projects the ERP knows under
their codes, and the project it was never told about under another number (so an
operator can map the missing code to it). Time before the first open month is
closed on every project's timesheet work: that is what refuses late time in Tryton.
A person whose new contract the ERP lacks is employed in Tryton until the day
before it began, so Tryton refuses their later time; a tax code some client still
waits for is not in Tryton at all; an engagement the ERP moved to a service product
set up without a revenue account has its invoice lines refused. The months before the
first open one are closed in the accounts too: an invoice dated back into one is refused.
"""

import json
import random
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

from opsview.demo.erp import env
from opsview.demo.plan import Sizes, first_open_day, plan_workspace

DEMO_SEED = 2026  # the generator's DEFAULT_SEED; repeated so this module stays free of Django
PRODUCT = "Consulting hour"
TAX_RATES = {"VAT19": "0.19", "VAT20": "0.20"}


def erp_code(code: str) -> str:
    """The number a project the demo never mapped carries in Tryton: its own code with the digits raised by 1000."""
    prefix, digits = code[: len(code.rstrip("0123456789"))], code[len(code.rstrip("0123456789")) :]
    return f"{prefix}{int(digits) + 1000:0{len(digits)}d}"


def employed_until(person) -> str | None:
    """The last day the ERP employs ``person``: the day they left; or, while the ERP still lacks their new
    contract (the rate rise it never learned of), the day before it began."""
    if person.rate_changed_on is not None and person.contract_updated_at is None:
        return (person.rate_changed_on - timedelta(days=1)).isoformat()
    return person.end.isoformat() if person.has_left else None


def spec_for(plan, today: date) -> dict:
    """The ``tools.py firm`` spec of one workspace plan."""
    opens = first_open_day(today)
    # A tax some client still waits for is not in the ERP at all: Tryton has no per-client tax codes.
    missing = {c.tax_code for c in plan.clients if c.tax_code_fixed_at is None}
    taxes = sorted(
        ({c.tax_code for c in plan.clients} | {c.old_tax_code for c in plan.clients if c.old_tax_code}) - missing
    )
    return {
        "company": plan.firm.name if plan.index < 8 else plan.name,
        "currency": plan.firm.currency,
        "fiscal_years": list(range((plan.start - timedelta(days=60)).year, today.year + 1)),
        "closed_before": opens.isoformat(),
        "timesheets_from": opens.isoformat(),
        "taxes": [[code, TAX_RATES.get(code, "0")] for code in taxes],
        "clients": [[c.external_id, c.name] for c in plan.clients],
        "people": [[p.external_id, p.name, employed_until(p)] for p in plan.people],
        "product": PRODUCT,
        # A service product set up without a revenue account, billed for an engagement: Tryton refuses its lines.
        "unbooked": sorted({p.erp_service for p in plan.projects if p.erp_service}),
        "projects": [
            [p.code if p.erp_mapped_at is not None else erp_code(p.code), p.name, p.client.external_id]
            + ([p.erp_service] if p.erp_service else [])
            for p in plan.projects
        ],
    }


def demo_plans(today: date, sizes: Sizes | None = None):
    """The plans ``seed_demo`` makes (its seed, the same draws; default sizes), for building the ERP first."""
    sizes = sizes or Sizes.resolve()
    return [plan_workspace(random.Random(f"{DEMO_SEED}:{i}"), sizes, i, today) for i in range(sizes.workspaces)]


def build_firms(venv: Path, base: Path, directory: Path, plans, today: date, timings=None, keep=True) -> list[str]:
    """Build the firm databases of ``plans`` in ``directory``; returns all their names.

    With ``keep``, a database that exists stays as it is (the demo was seeded with it,
    fixes and replays since included); without, every database is built afresh, for a
    demo about to be seeded.
    """
    began = time.monotonic()
    directory.mkdir(parents=True, exist_ok=True)
    config = env.write_config(directory, name="build.conf")
    names = []
    for plan in plans:
        target, spec = directory / f"{plan.slug}.sqlite", directory / f"{plan.slug}.spec.json"
        names.append(plan.slug)
        if keep and target.exists():
            continue
        building = directory / f"{plan.slug}-building.sqlite"
        shutil.copyfile(base, building)
        spec.write_text(json.dumps(spec_for(plan, today), indent=1))
        env.tools(venv, "firm", str(config), f"{plan.slug}-building", str(spec), what=f"building {plan.slug}")
        building.rename(target)
        if timings is not None:
            timings["firms_seconds"] = round(time.monotonic() - began, 1)
    return names
