"""What kind of failure an error is, and which failures share a cause.

Integration targets word their errors in many ways; the rules here read the
error code and message the way an operator would. The fingerprint is the one
definition of "same cause": the system, the record type, the error code and
the error message with ids and numbers taken out (and, for a missing mapping,
the unknown value, since each value is fixed once).

Both read only the first ``MESSAGE_SCAN_CHARS`` characters of a message, and every pattern here
runs in time linear in what it reads: unbounded repeats are possessive or end their pattern, so a
long message cannot make a pattern backtrack over it (they run inside the ingest transaction).
"""

import hashlib
import re
from dataclasses import dataclass

from opsview.queues.models import Kind, MappingKind

# How much of an error message classification and fingerprints read. The normalized message is cut
# to 500 characters anyway; targets put what identifies a cause at the start of their messages.
MESSAGE_SCAN_CHARS = 1000

# The unknown value of a missing mapping, as targets tend to phrase it.
_VALUE = r"""(?:['"‘“«](?P<value>[^'"’”»]{1,200})['"’”»]|(?P<bare>(?>[^\s'"’”»,;:()]*[^\s'"’”»,;:().])))"""
_QUOTED_VALUE = r"""['"‘“«](?P<value>[^'"’”»]{1,200})['"’”»]"""
_MAPPING_WORDS = {
    MappingKind.TAX_CODE: r"(?:tax|vat|gst)[ _-]?(?:code|rate|category)",
    MappingKind.PROJECT: r"project(?:[ _-]?(?:code|id|number|key))?",
    MappingKind.CLIENT: r"(?:client|customer|party|debtor)(?:[ _-]?(?:code|id|number|key))?",
    MappingKind.PERSON: r"(?:person|employee|user|worker|consultant|resource)(?:[ _-]?(?:code|id|number|key))?",
}
_MAPPING_PATTERNS = [
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, words in _MAPPING_WORDS.items()
    for pattern in (
        rf"\b(?:unknown|unmapped|unrecognized|unrecognised|no mapping for(?: the)?)\s+{words}\s*:?\s*{_VALUE}",
        rf"\b{words}\s*:?\s*{_VALUE}\s+(?:not found|does not exist|is unknown|is not mapped|has no mapping|"
        rf"not mapped|could not be found|cannot be found)",
        rf"\bno {words} (?:found |mapped )?(?:for|matching|with (?:code|id))\s*:?\s*{_VALUE}",
        rf"\bmapping (?:not found|missing) for {words}\s*:?\s*{_VALUE}",
        # "missing" alone is too common a word: only with the value quoted ("Tax code 'RC-EU' missing").
        rf"\b{words}\s*:?\s*{_QUOTED_VALUE}\s+(?:is\s+)?(?:missing|not configured|not set up)",
    )
]
_MAPPING_CODES = re.compile(
    r"UNMAPPED|MAPPING|NOT_MAPPED|NO_MAP|UNKNOWN_(?:PROJECT|CLIENT|CUSTOMER|PARTY|PERSON|EMPLOYEE|USER|TAX|VAT)|"
    r"(?:PROJECT|CLIENT|CUSTOMER|PERSON|EMPLOYEE|TAX|VAT)_(?:CODE_|ID_)?(?:MISSING|NOT_FOUND|UNKNOWN)",
    re.IGNORECASE,
)
_MAPPING_CODE_KINDS = [
    (MappingKind.TAX_CODE, re.compile(r"TAX|VAT|GST", re.IGNORECASE)),
    (MappingKind.PROJECT, re.compile(r"PROJECT", re.IGNORECASE)),
    (MappingKind.CLIENT, re.compile(r"CLIENT|CUSTOMER|PARTY|DEBTOR", re.IGNORECASE)),
    (MappingKind.PERSON, re.compile(r"PERSON|EMPLOYEE|USER|WORKER|RESOURCE", re.IGNORECASE)),
]

_VALIDATION = re.compile(
    r"validation|invalid|is required|must be|must not|cannot be (?:empty|blank|negative)|required field|"
    r"missing (?:required )?field|out of range|exceeds|too long|malformed|unprocessable|schema|"
    r"not a valid|does not match|differs from|mismatch|already exists|duplicate|\bmissing\b|is empty|"
    r"rejected by validation",
    re.IGNORECASE,
)
_VALIDATION_CODES = re.compile(
    r"^(VALIDATION|INVALID|REQUIRED|422|400|409|UNPROCESSABLE|BAD_REQUEST|SCHEMA|DUPLICATE)|MISMATCH|CONFLICT",
    re.IGNORECASE,
)

# Transport and service trouble: the record itself may be fine.
_TRANSPORT = re.compile(
    r"time(?:d)?[ -]?out|connection (?:refused|reset|closed|aborted)|could not connect|unreachable|"
    r"service unavailable|bad gateway|gateway time|internal server error|too many requests|rate limit|"
    r"throttl|unauthori[sz]ed|forbidden|token (?:expired|invalid)|authentication failed|ssl|tls|dns|"
    r"temporarily unavailable|(?:http|status)\W*5\d\d\b",
    re.IGNORECASE,
)
_TRANSPORT_CODES = re.compile(
    r"^(TIMEOUT|ETIMEDOUT|ECONNREFUSED|ECONNRESET|HTTP_?5\d\d|5\d\d|429|401|403|RATE_LIMIT|THROTTLED|"
    r"UNAUTHORI[SZ]ED|AUTH|SERVICE_UNAVAILABLE|NETWORK)",
    re.IGNORECASE,
)

_POSTING = re.compile(
    r"post(?:ing|ed)?\b|period .*(?:closed|locked)|fiscal|journal|ledger|account(?:ing)? (?:\S+ )?(?:blocked|"
    r"locked|closed)|move|balance|reconcil",
    re.IGNORECASE,
)
_POSTING_CODES = re.compile(r"PERIOD|POST|JOURNAL|LEDGER|FISCAL|ACCOUNT", re.IGNORECASE)
# Codes that name the ERP's own accounting reason: a posting failure even when the ERP's words
# sound like validation ("A value is required for field Account" for a product without accounts).
_ACCOUNTING_REASON_CODES = re.compile(r"PERIOD_(?:CLOSED|LOCKED)$|^NO_\w*ACCOUNT$", re.IGNORECASE)


@dataclass(frozen=True)
class Classification:
    kind: str
    mapping_kind: str = ""
    mapping_value: str = ""


def classify(error_code, error_message, target_kind=""):
    """The kind of one failed sync event, from its error and the kind of system it was sent to."""
    code, message = (error_code or "")[:MESSAGE_SCAN_CHARS], (error_message or "")[:MESSAGE_SCAN_CHARS]
    for mapping_kind, pattern in _MAPPING_PATTERNS:
        found = pattern.search(message)
        if found:
            value = found.group("value") or found.group("bare")
            return Classification(Kind.MISSING_MAPPING, mapping_kind, value.strip())
    if _MAPPING_CODES.search(code):
        for mapping_kind, pattern in _MAPPING_CODE_KINDS:
            if pattern.search(code):
                return Classification(Kind.MISSING_MAPPING, mapping_kind)
        return Classification(Kind.MISSING_MAPPING)
    if _TRANSPORT_CODES.search(code) or (not code and _TRANSPORT.search(message)):
        return Classification(Kind.SYNC_ERROR)
    if _ACCOUNTING_REASON_CODES.search(code):
        return Classification(Kind.POSTING_FAILURE)
    if _VALIDATION_CODES.search(code) or _VALIDATION.search(message):
        return Classification(Kind.VALIDATION_REJECTED)
    if _TRANSPORT.search(message):
        return Classification(Kind.SYNC_ERROR)
    if target_kind == "erp" or _POSTING_CODES.search(code) or _POSTING.search(message):
        return Classification(Kind.POSTING_FAILURE)
    return Classification(Kind.SYNC_ERROR)


_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
# Starts only where a run of address characters starts (the lookbehind): trying every position
# inside a long word would scan the rest of the word again from each.
_EMAIL = re.compile(r"(?<![\w.+-])([.+-]*+)\b[\w.+-]++@[\w-]+(?:\.[\w-]++)+\b")
_HEX = re.compile(r"\b(?=[a-f]*+\d)[0-9a-f]{12,}+\b", re.IGNORECASE)
_QUOTED_ID = re.compile(r"""(['"‘“«])[^'"‘“«’”»]*\d[^'"‘“«’”»]*(['"’”»])""")
_TOKEN = re.compile(r"[\w./#-]++")
_DIGIT = re.compile(r"\d")
_GROUPED_NUMBER = re.compile(r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b")
_SPACES = re.compile(r"\s++")
# What normalisation runs over a message, for the test that keeps them linear.
NORMALIZING_PATTERNS = (_UUID, _EMAIL, _HEX, _QUOTED_ID, _TOKEN, _DIGIT, _GROUPED_NUMBER, _SPACES)


def _token_with_digit(match):
    token = match.group()
    return "<n>" if _DIGIT.search(token) else token


def normalize_message(message):
    """The message with ids, e-mails, dates and numbers replaced by placeholders, so causes compare equal.

    Reads the first ``MESSAGE_SCAN_CHARS`` characters only.
    """
    text = (message or "")[:MESSAGE_SCAN_CHARS]
    text = _UUID.sub("<id>", text)
    if "@" in text:
        text = _EMAIL.sub(r"\1<email>", text)
    text = _HEX.sub("<id>", text)
    text = _QUOTED_ID.sub(r"\1<id>\2", text)
    text = _GROUPED_NUMBER.sub("<n>", text)
    # One placeholder for every token with a digit: an id that happens to be all digits ("00000010")
    # must not split a cause from the same id with letters ("0000000a").
    text = _TOKEN.sub(_token_with_digit, text)
    text = _SPACES.sub(" ", text).strip().rstrip(".")
    return text[:500]


def fingerprint(system_id, record_type, error_code, message, cause=""):
    """The one definition of "same cause". ``message`` is normalized here; ``cause`` is an exact discriminator."""
    parts = [str(system_id), record_type or "", (error_code or "").upper(), normalize_message(message), cause or ""]
    return hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()
