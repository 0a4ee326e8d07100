"""One button hierarchy in every template: each button says whether it is the view's primary action, a secondary
or quiet one, or destructive; a destructive one asks before it acts (data-confirm, static/js/opsview.js)."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
BUTTON = re.compile(r"<button\b[^>]*>", re.S)
KINDS = {"primary", "secondary", "quiet", "danger"}


def buttons():
    for path in sorted(TEMPLATES.rglob("*.html")):
        for tag in BUTTON.findall(path.read_text()):
            yield path.relative_to(TEMPLATES), tag


def classes(tag):
    found = re.search(r'class="([^"]*)"', tag)
    return set(found.group(1).split()) if found else set()


def test_every_button_has_its_place_in_the_hierarchy():
    unmarked = [(str(path), tag) for path, tag in buttons() if not classes(tag) & KINDS]
    assert not unmarked


def test_every_destructive_button_asks_first():
    silent = [(str(path), tag) for path, tag in buttons() if "danger" in classes(tag) and "data-confirm=" not in tag]
    assert not silent
