"""Builds and fixes the demo firms' Tryton databases; runs inside the Tryton venv, never in the app's.

Usage: python tools.py firm CONFIG DATABASE SPEC.json        -> fills a copy of the base database
       python tools.py reopen-timesheets URL USER PASSWORD PROJECT_CODE YYYY-MM-DD
       python tools.py reopen-period URL USER PASSWORD YYYY-MM-DD
       python tools.py add-tax URL USER PASSWORD NAME RATE
       python tools.py extend-employee URL USER PASSWORD PARTY_CODE YYYY-MM-DD|-
       python tools.py set-revenue-account URL USER PASSWORD PRODUCT_NAME
       python tools.py open-fiscal-year URL USER PASSWORD YYYY-MM-DD

``firm`` writes what the firm's ERP knows (see ``opsview/demo/erp/firms.py`` for
the spec): the company in its currency, a chart of accounts, fiscal years with
monthly periods (those before ``closed_before`` closed), customers and employees
coded with the demo's external ids, projects numbered with their project codes and
open for timesheets from ``timesheets_from``, an hourly service product (and the
``unbooked`` ones, set up without a revenue account), and the taxes the ERP has.
The other commands are what an accountant does in the Tryton client to fix a
refused record, done through the running server (XML-RPC at URL, e.g.
``http://127.0.0.1:8010/northwind/rpc/``). Each prints one JSON line.
"""

import datetime as dt
import json
import re
import sys
from decimal import Decimal

from proteus import Model
from proteus import config as proteus_config


def firm(spec):
    from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, get_accounts
    from trytond.modules.account_invoice.tests.tools import create_payment_term, set_fiscalyear_invoice_sequences
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.currency.tests.tools import get_currency

    Party = Model.get("party.party")
    company_party = Party(name=spec["company"])
    company_party.save()
    create_company(party=company_party, currency=get_currency(spec["currency"]))
    create_chart()
    accounts = get_accounts()

    for year in spec["fiscal_years"]:
        fiscalyear = set_fiscalyear_invoice_sequences(
            create_fiscalyear(today=(dt.date(year, 1, 1), dt.date(year, 12, 31)))
        )
        fiscalyear.save()
        fiscalyear.click("create_period")
    closed_before = dt.date.fromisoformat(spec["closed_before"])
    Period = Model.get("account.period")
    closing = Period.find([("end_date", "<", closed_before), ("type", "=", "standard")])
    if closing:
        Period.click(closing, "close")

    Tax = Model.get("account.tax")
    for name, rate in spec["taxes"]:
        tax = Tax(name=name, description=name, type="percentage", rate=Decimal(rate))
        tax.invoice_account = tax.credit_note_account = accounts["tax"]
        tax.save()

    payment_term = create_payment_term()
    payment_term.save()
    parties = {}
    for code, name in spec["clients"]:
        party = Party(name=name, code=code, customer_payment_term=payment_term)
        party.save()
        parties[code] = party
    Employee = Model.get("company.employee")
    for code, name, until in spec["people"]:
        employee = Employee(party=Party(name=name, code=code))
        employee.party.save()
        employee.end_date = dt.date.fromisoformat(until) if until else None
        employee.save()

    Category = Model.get("product.category")
    (hour,) = Model.get("product.uom").find([("name", "=", "Hour")])
    Template = Model.get("product.template")
    products = {}
    # The service the firm bills, and any it was set up without a revenue account (Tryton refuses to invoice those).
    for name, revenue in [(spec["product"], accounts["revenue"])] + [(n, None) for n in spec.get("unbooked", [])]:
        category = Category(name=f"{name} services", accounting=True, account_revenue=revenue)
        category.save()
        template = Template(name=name, default_uom=hour, type="service", list_price=Decimal("100"))
        template.account_category = category
        template.save()
        (products[name],) = template.products

    Work = Model.get("project.work")
    TimesheetWork = Model.get("timesheet.work")
    opens = dt.date.fromisoformat(spec["timesheets_from"])
    # Numbers are read-only in Tryton, made by the project sequence: it is set up to make each code in turn.
    sequence = Model.get("project.configuration")(1).work_sequence
    for code, name, client, *service in spec["projects"]:
        prefix, digits = re.fullmatch(r"(.*?)(\d+)", code).groups()
        sequence.prefix, sequence.padding, sequence.number_next = prefix, len(digits), int(digits)
        sequence.save()
        product = products[service[0] if service else spec["product"]]
        project = Work(name=name, type="project", party=parties[client], product=product)
        project.project_invoice_method = "timesheet"
        project.timesheet_available = True
        project.save()
        assert project.number == code, (project.number, code)
        (work,) = project.timesheet_works
        work = TimesheetWork(work.id)
        work.timesheet_start_date = opens
        work.save()
    return {"company": spec["company"], "projects": len(spec["projects"]), "people": len(spec["people"])}


def reopen_timesheets(code, day):
    """Let the project's work take time from ``day`` on: move its timesheet start date back."""
    (project,) = Model.get("project.work").find([("number", "=", code), ("type", "=", "project")])
    TimesheetWork = Model.get("timesheet.work")
    moved = []
    for work in project.timesheet_works:
        work = TimesheetWork(work.id)
        if work.timesheet_start_date and work.timesheet_start_date > day:
            work.timesheet_start_date = day
            work.save()
            moved.append(work.id)
    return {"project": code, "timesheets_from": day.isoformat(), "works": moved}


def reopen_period(day):
    """Reopen the closed period holding ``day`` (and its fiscal year's later closed periods, as Tryton requires)."""
    Period = Model.get("account.period")
    periods = Period.find([("start_date", "<=", day), ("end_date", ">=", day), ("type", "=", "standard")])
    if not periods:
        raise SystemExit(f"no period holds {day}")
    (period,) = periods
    later = Period.find(
        [("start_date", ">", period.end_date), ("state", "=", "closed"), ("fiscalyear", "=", period.fiscalyear.id)],
        order=[("start_date", "DESC")],
    )
    for each in [*later, period]:
        if each.state == "closed":
            each.click("reopen")
    return {"period": period.name, "state": Period(period.id).state}


def extend_employee(code, day):
    """Employ the employee of party ``code`` until ``day`` (``-``: with no end): their new contract is in."""
    Employee = Model.get("company.employee")
    with Employee._config.set_context(active_test=False):  # "active" is computed from the dates
        (employee,) = Employee.find([("party.code", "=", code)])
    employee.end_date = None if day == "-" else dt.date.fromisoformat(day)
    employee.save()
    return {"employee": code, "end_date": employee.end_date.isoformat() if employee.end_date else None}


def set_revenue_account(product):
    """Book the service ``product`` on the chart's revenue account, on its accounting category."""
    from trytond.modules.account.tests.tools import get_accounts

    (template,) = Model.get("product.template").find([("name", "=", product)])
    category = template.account_category
    category.account_revenue = get_accounts()["revenue"]
    category.save()
    return {"product": product, "revenue_account": category.account_revenue.rec_name}


def add_tax(name, rate):
    """Create the tax ``name`` at ``rate`` (percent as a fraction, e.g. 0.19), booked on the chart's tax account."""
    from trytond.modules.account.tests.tools import get_accounts

    accounts = get_accounts()
    Tax = Model.get("account.tax")
    tax = Tax(name=name, description=name, type="percentage", rate=Decimal(rate))
    tax.invoice_account = tax.credit_note_account = accounts["tax"]
    tax.save()
    return {"tax": tax.id, "name": name}


def open_fiscal_year(day):
    """Create the fiscal year of ``day`` with its invoice sequence and monthly periods."""
    from trytond.modules.account.tests.tools import create_fiscalyear
    from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences

    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(today=(day.replace(month=1, day=1), day)))
    fiscalyear.save()
    fiscalyear.click("create_period")
    return {"fiscal_year": fiscalyear.id}


ONLINE = {
    "reopen-timesheets": lambda code, day: reopen_timesheets(code, dt.date.fromisoformat(day)),
    "reopen-period": lambda day: reopen_period(dt.date.fromisoformat(day)),
    "add-tax": add_tax,
    "extend-employee": extend_employee,
    "set-revenue-account": set_revenue_account,
    "open-fiscal-year": lambda day: open_fiscal_year(dt.date.fromisoformat(day)),
}


def main(argv):
    command, *args = argv
    if command == "firm":
        config_file, database, spec_file = args
        with open(spec_file) as handle:
            spec = json.load(handle)
        proteus_config.set_trytond(database, config_file=config_file)
        result = firm(spec)
    elif command in ONLINE:
        url, user, password, *rest = args
        with proteus_config.set_xmlrpc_session(url, user, password):
            result = ONLINE[command](*rest)
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
