"""Offline link check of the built site: ``python docs/linkcheck.py build/site``.

CI reaches no network beyond package registries, so external links are checked for form only:
an ``http(s)`` URL with a host that has a dot and no spaces, and an arXiv link whose identifier
is a real arXiv id (``YYMM.NNNNN``). Internal links (``href``/``src`` without a scheme) must
resolve to a file of the site, fragments included for pages (``#id`` must exist on the target
page). ``mkdocs build --strict`` already refuses broken links in the Markdown; this also covers
links inside rendered notebooks and generated pages. Exit status 1 lists every bad link.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ARXIV = re.compile(r"^/(abs|pdf)/\d{4}\.\d{4,5}(v\d+)?$")
SKIP_SCHEMES = {"mailto", "data", "javascript", "tel"}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            if value and (
                (name == "href" and tag in ("a", "link"))
                or (name == "src" and tag in ("img", "script"))
            ):
                self.links.append(value)


def parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def external_problem(url: str) -> str | None:
    """Why an external URL is malformed, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme!r}"
    host = parts.hostname or ""
    if "." not in host or " " in url:
        return "no host or a space in the URL"
    if host.endswith("arxiv.org") and parts.path and not ARXIV.match(parts.path):
        return "not an arXiv abs/pdf id"
    return None


def check(site: Path) -> list[str]:
    # 404.html is served at any depth, so MkDocs writes it with root-absolute links on purpose.
    pages = {p: parse(p) for p in sorted(site.rglob("*.html")) if p.name != "404.html"}
    problems = []
    n_ext = n_int = 0
    for page, parsed in pages.items():
        where = page.relative_to(site)
        for link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme in SKIP_SCHEMES:
                continue
            if parts.scheme or link.startswith("//"):
                n_ext += 1
                why = external_problem(link if parts.scheme else "https:" + link)
                if why:
                    problems.append(f"{where}: {link}: {why}")
                continue
            n_int += 1
            if not parts.path:
                target = page
            elif parts.path.startswith("/"):
                problems.append(f"{where}: {link}: absolute path (breaks under a sub-path)")
                continue
            else:
                target = (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
            if not target.exists():
                problems.append(f"{where}: {link}: no such file")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{where}: {link}: no anchor #{parts.fragment}")
    print(
        f"linkcheck: {len(pages)} pages, {n_int} internal and {n_ext} external links "
        f"(external: form only, offline), {len(problems)} problem(s)"
    )
    return problems


def main(argv: list[str]) -> int:
    site = Path(argv[0] if argv else "build/site").resolve()
    if not (site / "index.html").is_file():
        print(f"linkcheck: {site} has no index.html; run `make docs` first", file=sys.stderr)
        return 2
    problems = check(site)
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
