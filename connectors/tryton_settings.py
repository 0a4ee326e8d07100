"""What a person fills in to connect a Tryton database (``TrytonConnector.SETTINGS``), in the Tryton client's words."""

from connectors.settings import Setting

TRYTON_SETTINGS = (
    Setting(
        "url",
        "Server address",
        "The address of the Tryton server (trytond) with http:// or https:// and its port: the "
        '"Host" of the Tryton client\'s login dialog, e.g. https://erp.example.com:8000. Without the '
        "database name.",
        kind="url",
        placeholder="https://erp.example.com:8000",
    ),
    Setting(
        "database",
        "Database",
        'The database you choose in the Tryton client\'s login dialog ("Database"), one per company.',
        placeholder="northwind",
    ),
    Setting(
        "username",
        "User name",
        'The Tryton user opsview logs in as (Administration > Users > Users, "Login"). It reads '
        "timesheets, projects and invoices, and creates timesheet lines and invoices when you replay.",
        placeholder="opsview",
    ),
    Setting("password", "Password", "That user's password in Tryton.", secret=True),
    Setting(
        "accept_warnings",
        "Confirm Tryton's warnings",
        "Tryton asks a person to confirm some actions with a warning (e.g. posting an invoice whose payment "
        'date is past). On: a replay confirms them as the Tryton client\'s "Yes" does. Off: such a '
        "replay fails with Tryton's warning, for a person to decide.",
        required=False,
        kind="boolean",
        default=False,
    ),
)
