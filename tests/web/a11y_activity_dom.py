"""A small document tree of a page, for the accessibility tests (``test_a11y_activity_*``): what a
screen reader reads of an element (its text with the visually-hidden parts, without what is
``hidden`` or ``aria-hidden``), what a sighted user sees of it, and where a ``title`` tooltip's
text can be reached otherwise. The standard library's parser: the hub's pages are well formed."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def elements(self):
        """Every element under this one, in document order."""
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.elements()

    def find_all(self, tag: str | None = None, cls: str | None = None, attr: str | None = None) -> list[Node]:
        return [e for e in self.elements() if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
                and (attr is None or attr in e.attrs)]

    def by_id(self, element_id: str) -> Node | None:
        return next((e for e in self.elements() if e.attrs.get("id") == element_id), None)

    def ancestor(self, tag: str) -> Node | None:
        node = self.parent
        while node is not None and node.tag != tag:
            node = node.parent
        return node

    def _text(self, skip) -> str:
        parts = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif not skip(child):
                parts.append(child._text(skip))
        return "".join(parts)

    def spoken(self) -> str:
        """Its text as a screen reader reads it: visually-hidden text in, hidden and aria-hidden out."""
        return squash(self._text(lambda e: "hidden" in e.attrs or e.attrs.get("aria-hidden") == "true"))

    def seen(self) -> str:
        """Its text as a sighted user sees it: visually-hidden and hidden text out."""
        return squash(self._text(lambda e: "hidden" in e.attrs or "visually-hidden" in e.classes))

    def whole_text(self) -> str:
        """All its text, whatever hides it (an ``aria-describedby`` target may be ``hidden``)."""
        return squash(self._text(lambda e: False))


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _norm(text: str) -> str:
    return squash(text).casefold()


def reachable_elsewhere(doc: Node, element: Node) -> str | None:
    """Where the text of ``element``'s ``title`` can be reached without hovering it, or None: in
    what a screen reader reads of the element or of what holds it (a visually-hidden copy, a
    ``<details>`` beside it), in its ``aria-describedby`` description, or in its table's caption."""
    wanted = _norm(element.attrs["title"])
    holder = element.parent if element.parent is not None and element.parent.tag != "#document" else element
    if wanted in _norm(holder.spoken()):
        return "text"
    described = [doc.by_id(i) for i in (element.attrs.get("aria-describedby") or "").split()]
    if any(target is not None and wanted in _norm(target.whole_text()) for target in described):
        return "aria-describedby"
    table = element.ancestor("table")
    captions = table.find_all("caption") if table is not None else []
    if captions and wanted in _norm(captions[0].spoken()):
        return "caption"
    return None
