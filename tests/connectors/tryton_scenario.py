"""Scenario data for the Tryton connector tests; runs inside the Tryton venv, never in the app's.

Usage: python tryton_scenario.py build CONFIG DATABASE          -> prints the ids it made, as JSON

``build`` follows Tryton's own scenario tests (project_invoice's timesheet scenario):
a company with a chart of accounts, a customer, an employee, an hourly service,
a project invoiced on timesheets, three timesheet lines, and a draft invoice for two
of them. There is deliberately no fiscal year, so posting that invoice fails the way
it does for a real firm that has not opened its books for the year yet; the demo
ERP's ``tools.py open-fiscal-year`` fixes that cause as an accountant would.
"""

import datetime as dt
import json
import sys
from decimal import Decimal

from proteus import Model
from proteus import config as proteus_config

WORK_DATES = (dt.date(2026, 10, 5), dt.date(2026, 10, 6), dt.date(2026, 10, 20))
INVOICED_UP_TO = dt.date(2026, 10, 10)
INVOICE_DATE = dt.date(2026, 10, 31)


def build():
    from trytond.modules.account.tests.tools import create_chart, get_accounts
    from trytond.modules.account_invoice.tests.tools import create_payment_term
    from trytond.modules.company.tests.tools import create_company

    create_company(currency="EUR")
    create_chart()
    accounts = get_accounts()

    payment_term = create_payment_term()
    payment_term.save()
    Party = Model.get("party.party")
    customer = Party(name="Northwind Traders")
    customer.customer_payment_term = payment_term
    customer.save()

    Employee = Model.get("company.employee")
    employee = Employee(party=Party(name="Wendy Worker"))
    employee.party.save()
    employee.save()

    Category = Model.get("product.category")
    category = Category(name="Services", accounting=True, account_revenue=accounts["revenue"])
    category.save()
    (hour,) = Model.get("product.uom").find([("name", "=", "Hour")])
    Template = Model.get("product.template")
    template = Template(name="Consulting hour", default_uom=hour, type="service", list_price=Decimal("150"))
    template.account_category = category
    template.save()
    (product,) = template.products

    Work = Model.get("project.work")
    project = Work(name="Northwind Rollout", type="project", party=customer, product=product)
    project.project_invoice_method = "timesheet"
    project.timesheet_available = True
    task = project.children.new(name="Data migration", type="task", product=product)
    task.timesheet_available = True
    project.save()
    (task,) = project.children

    Line = Model.get("timesheet.line")
    lines = []
    for work_date, work, hours, text in zip(
        WORK_DATES, (task, project, task), (3, 2.5, 4), ("Mapping", "Kick-off", "Cut-over"), strict=True
    ):
        line = Line(date=work_date, employee=employee, description=text)
        line.duration = dt.timedelta(hours=hours)
        (line.work,) = work.timesheet_works
        line.save()
        lines.append(line.id)

    project.project_invoice_timesheet_up_to = INVOICED_UP_TO
    project.save()
    project.click("invoice")
    (invoice,) = Model.get("account.invoice").find([])
    invoice.invoice_date = INVOICE_DATE
    invoice.save()
    return {
        "company_currency": "EUR",
        "customer": customer.id,
        "employee": employee.id,
        "project": project.id,
        "task": task.id,
        "timesheet_lines": lines,
        "invoice": invoice.id,
        "invoice_amount": str(invoice.total_amount),
    }


def main(argv):
    command, *args = argv
    if command == "build":
        config_file, database = args
        proteus_config.set_trytond(database, config_file=config_file)
        result = build()
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
