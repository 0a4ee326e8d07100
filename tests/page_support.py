"""Reading a page the server rendered, as a browser test would, without a browser.

``select(html, "table.items tbody tr")`` finds elements by a descendant chain of simple selectors
(``tag``, ``.class``, ``#id``, ``[attr]``, ``[attr=value]``, combined as in ``tr[data-kind=x].open``);
``text(element)`` is what it shows. Enough for tests of what a page says and offers, not a CSS engine.
"""

import json
import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SIMPLE = re.compile(r"([a-zA-Z][\w-]*)|\.([\w-]+)|#([\w-]+)|\[([\w-]+)(?:=[\"']?([^\"'\]]*)[\"']?)?\]")


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"

    def get(self, name, default=None):
        return self.attrs.get(name, default)


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.open = Element("#document", {}, None)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, [(k, v or "") for k, v in attrs], self.open)
        self.open.children.append(element)
        if tag not in VOID:
            self.open = element

    def handle_startendtag(self, tag, attrs):
        self.open.children.append(Element(tag, [(k, v or "") for k, v in attrs], self.open))

    def handle_endtag(self, tag):
        element = self.open
        while element is not self.root and element.tag != tag:
            element = element.parent
        if element is not self.root:
            self.open = element.parent

    def handle_data(self, data):
        self.open.children.append(data)


def parse(html) -> Element:
    """The element tree of ``html`` (text, bytes, or a test client's response)."""
    if hasattr(html, "content"):
        html = html.content
    if isinstance(html, bytes):
        html = html.decode()
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root


def _matches(element, simple):
    for tag, cls, ident, attr, value in SIMPLE.findall(simple):
        if tag and element.tag != tag:
            return False
        if cls and cls not in element.get("class", "").split():
            return False
        if ident and element.get("id") != ident:
            return False
        if attr and (attr not in element.attrs or (value and element.attrs[attr] != value)):
            return False
    return True


def _descendants(element):
    for child in element.children:
        if isinstance(child, Element):
            yield child
            yield from _descendants(child)


def select(html, selector) -> list[Element]:
    """The elements matching ``selector`` (simple selectors separated by spaces), in document order."""
    found = [html if isinstance(html, Element) else parse(html)]
    for simple in selector.split():
        seen, matched = set(), []
        for scope in found:
            for element in _descendants(scope):
                if id(element) not in seen and _matches(element, simple):
                    seen.add(id(element))
                    matched.append(element)
        found = matched
    return found


def text(element) -> str:
    """The element's text, whitespace collapsed."""
    parts = []

    def walk(node):
        for child in node.children:
            if isinstance(child, Element):
                walk(child)
            else:
                parts.append(child)

    walk(element)
    return " ".join("".join(parts).split())


def figure(html, key) -> dict:
    """The plotly figure the page hands its chart ``key`` to draw (its ``json_script``)."""
    (script,) = select(html, f"script#figure-{key}")
    return json.loads("".join(c for c in script.children if isinstance(c, str)))
