"""The vocabulary of the demo: firms, people, clients, engagements, roles and ERP errors.

Plain data, so the generator reads as a story and the words can be changed in one place.
"""

from dataclasses import dataclass

DEMO_PASSWORD = "opsview-demo"


@dataclass(frozen=True)
class Firm:
    name: str
    slug: str
    currency: str
    time_zone: str
    utc_offset_hours: int  # used for business hours; DST is ignored on purpose, nobody reads the demo to the hour
    company: str  # the ERP's company code, quoted in its error messages
    code: str  # prefix of project codes
    domain: str
    tax_code: str
    reverse_charge_code: str
    rate_factor: float  # list rates are in EUR; other currencies are scaled so the numbers look local


FIRMS = (
    Firm(
        "Northwind Consulting",
        "northwind",
        "EUR",
        "Europe/Berlin",
        1,
        "NW01",
        "NW",
        "northwind.example",
        "VAT19",
        "RC-EU",
        1.0,
    ),
    Firm(
        "Bluebird Digital",
        "bluebird",
        "GBP",
        "Europe/London",
        0,
        "BB01",
        "BB",
        "bluebird.example",
        "VAT20",
        "RC-NONUK",
        0.85,
    ),
    Firm(
        "Contoso Engineering",
        "contoso-eng",
        "USD",
        "America/Chicago",
        -6,
        "CE01",
        "CE",
        "contoso-eng.example",
        "TX-IL",
        "EXEMPT",
        1.1,
    ),
    Firm(
        "Fabrikam Advisory",
        "fabrikam",
        "EUR",
        "Europe/Amsterdam",
        1,
        "FA01",
        "FA",
        "fabrikam.example",
        "BTW21",
        "RC-EU",
        1.0,
    ),
    Firm(
        "Tailspin IT Services",
        "tailspin",
        "USD",
        "America/New_York",
        -5,
        "TS01",
        "TS",
        "tailspin.example",
        "TX-NY",
        "EXEMPT",
        1.1,
    ),
    Firm(
        "Alpine Ventures Partners",
        "alpine",
        "CHF",
        "Europe/Zurich",
        1,
        "AV01",
        "AV",
        "alpine.example",
        "MWST81",
        "RC-CH",
        1.05,
    ),
    Firm(
        "Lakeshore Analytics",
        "lakeshore",
        "CAD",
        "America/Toronto",
        -5,
        "LA01",
        "LA",
        "lakeshore.example",
        "HST13",
        "ZERO",
        1.45,
    ),
    Firm(
        "Greywater Systems",
        "greywater",
        "GBP",
        "Europe/London",
        0,
        "GW01",
        "GW",
        "greywater.example",
        "VAT20",
        "RC-NONUK",
        0.85,
    ),
)


@dataclass(frozen=True)
class JobRole:
    title: str
    share: float  # of the firm's headcount
    rate: int  # hourly bill rate in EUR before the firm's currency factor
    manages: int  # how many projects such a person usually manages


ROLES = (
    JobRole("Partner", 0.04, 260, 3),
    JobRole("Principal consultant", 0.08, 210, 3),
    JobRole("Senior consultant", 0.20, 170, 1),
    JobRole("Consultant", 0.28, 140, 0),
    JobRole("Analyst", 0.17, 110, 0),
    JobRole("Developer", 0.17, 130, 0),
    JobRole("Designer", 0.06, 125, 0),
)

FIRST_NAMES = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Grace",
    "Hannah",
    "Isaac",
    "Julia",
    "Karim",
    "Laura",
    "Marco",
    "Nina",
    "Oliver",
    "Priya",
    "Quentin",
    "Rosa",
    "Samuel",
    "Tara",
    "Umar",
    "Vera",
    "William",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Amelia",
    "Bruno",
    "Chloe",
    "Dmitri",
    "Emma",
    "Finn",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Leon",
    "Mila",
    "Noah",
    "Olga",
    "Pablo",
    "Rahel",
    "Sofia",
    "Theo",
    "Ulla",
    "Viktor",
    "Wen",
    "Yara",
    "Aisha",
    "Carlos",
    "Daniel",
    "Fatima",
    "Georg",
    "Helena",
    "Ivan",
    "Jana",
    "Lukas",
    "Maya",
    "Nils",
)

LAST_NAMES = (
    "Becker",
    "Schmidt",
    "Okafor",
    "Rossi",
    "Novak",
    "Jensen",
    "Walsh",
    "Fischer",
    "Moreau",
    "Kowalski",
    "Haddad",
    "Lindqvist",
    "Tanaka",
    "Murphy",
    "Costa",
    "Meyer",
    "Nguyen",
    "Patel",
    "Garcia",
    "Wagner",
    "Bauer",
    "Horvath",
    "Dubois",
    "Eriksen",
    "Silva",
    "Brennan",
    "Kaur",
    "Vogel",
    "Santos",
    "Keller",
    "Andersen",
    "Yilmaz",
    "Richter",
    "Lambert",
    "Ivanova",
    "O'Brien",
    "Hoffmann",
    "Sato",
    "Mendes",
    "Weber",
    "Kim",
    "Larsen",
    "Popescu",
    "Fernandes",
    "Schneider",
    "Adeyemi",
    "Hughes",
    "Marino",
    "Berg",
    "Clarke",
)

CLIENT_NAMES = (
    "Hartmann Logistik GmbH",
    "Meridian Health Group",
    "Acme Retail",
    "Kestrel Energy",
    "Vantage Insurance",
    "Polaris Manufacturing",
    "Harbour City Council",
    "Orbit Telecom",
    "Greenfield Foods",
    "Summit Bank",
    "Atlas Freight",
    "Nordlicht Stadtwerke",
    "Crescent Pharma",
    "Blue Ridge Outdoor",
    "Ironbridge Capital",
    "Sterling Publishing",
    "Evergreen Housing",
    "Quantum Robotics",
    "Lighthouse Charities",
    "Redwood Hotels",
    "Silverline Rail",
    "Cobalt Mining",
    "Maple Education Trust",
    "Falcon Aerospace",
    "Horizon Media",
)

ENGAGEMENTS = (
    (
        "ERP rollout",
        (
            "Workshop with finance team",
            "Data migration scripts",
            "Chart of accounts mapping",
            "User acceptance testing",
            "Cutover planning",
        ),
    ),
    (
        "Finance transformation",
        (
            "Process mapping",
            "Month-end close review",
            "Stakeholder interviews",
            "Target operating model",
            "Steering committee",
        ),
    ),
    (
        "Data platform",
        ("Pipeline development", "Data model review", "Dashboard build", "Code review", "Backlog refinement"),
    ),
    (
        "Cloud migration",
        (
            "Landing zone setup",
            "Migration wave planning",
            "Infrastructure as code",
            "Cutover weekend support",
            "Security review",
        ),
    ),
    ("Support retainer", ("Ticket triage", "Incident follow-up", "Monthly service review", "Patch planning")),
    (
        "Customer portal",
        ("Sprint work", "UX research", "Frontend implementation", "API integration", "Release testing"),
    ),
    ("Brand refresh", ("Design system", "Creative review", "Content workshop", "Asset production")),
    ("Process audit", ("Controls testing", "Evidence review", "Audit fieldwork", "Findings report")),
    ("Pricing strategy", ("Market analysis", "Pricing model", "Executive workshop", "Scenario analysis")),
)

INTERNAL_PROJECTS = (
    ("Internal administration", ("Timesheets and admin", "Team meeting", "All-hands")),
    ("Presales", ("Proposal writing", "Client pitch", "Solution design for bid")),
    ("Training and knowledge sharing", ("Certification course", "Brown-bag session", "Conference")),
)

PAYMENT_TERMS_DAYS = (14, 30, 30, 30, 45)

# The five causes the demo's ERP and billing system reject records for. The codes
# are what a connector reports; the messages quote the ids an operator needs.
PERIOD_CLOSED = "PERIOD_CLOSED"
UNKNOWN_PROJECT = "UNKNOWN_PROJECT"
TAX_CODE_MISSING = "TAX_CODE_MISSING"
RATE_MISMATCH = "RATE_MISMATCH"
DUPLICATE_INVOICE_NUMBER = "DUPLICATE_INVOICE_NUMBER"
NO_REVENUE_ACCOUNT = "NO_REVENUE_ACCOUNT"
ERROR_CODES = (
    PERIOD_CLOSED,
    UNKNOWN_PROJECT,
    TAX_CODE_MISSING,
    RATE_MISMATCH,
    DUPLICATE_INVOICE_NUMBER,
    NO_REVENUE_ACCOUNT,
)
# The service product an engagement was moved to in the ERP, set up there without a revenue account.
UNBOOKED_SERVICE = "Advisory retainer"


def period_closed(period, company):
    return f"Posting period {period} is closed for company {company}"


def unknown_project(code):
    return f"Project code '{code}' not found"


def tax_code_missing(code, line):
    return f"Tax code '{code}' missing on line {line}"


def rate_mismatch(rate, contract_rate, person):
    return f"Rate {rate:.2f} differs from contract rate {contract_rate:.2f} for person {person}"


def no_revenue_account(product, line):
    return f"Product '{product}' on line {line} has no revenue account: the invoice cannot be posted"


def duplicate_invoice_number(number):
    return f"Invoice number {number} already exists"


OUTAGE_MESSAGES = (
    "Tryton JSON-RPC unavailable: 502 Bad Gateway from erp.{domain}",
    "Authentication failed: OAuth token for the Xero organisation has expired",
    "Harvest API rate limit exceeded (HTTP 429); run aborted after 3 retries",
    "Connection to erp.{domain}:8000 timed out after 30 s",
)
