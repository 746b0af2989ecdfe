#!/usr/bin/env python3
"""Checks the links of the repository's Markdown documentation, offline.

For README.md and every docs/**/*.md:
- every relative link `[text](target)` must name a file or folder that
  exists, inside the repository; a `#fragment` must name a heading of the
  file it points to (GitHub's heading ids);
- every path written as code (`docs/…`, `crates/…`, `scripts/…`, `tests/…`,
  `schemas/…`, `migrations/…`) must exist, unless it is a pattern (`<`, `*`);
- web links (http, https, mailto) are not fetched.

Usage: scripts/check-doc-links.py [FILE.md …]   (default: README.md docs/**/*.md)
Exits 1 and lists each broken link when any is found.
"""

import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_PATH = re.compile(r"`((?:docs|crates|scripts|tests|schemas|migrations)/[^`\s]*)`")
FENCE = re.compile(r"^\s*(```|~~~)")


def slug(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = text.strip().lower()
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "-_ " or cat[0] in "LN" or cat == "Mn":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def prose_lines(path: Path):
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    ids = set()
    for _, line in prose_lines(path):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        ids.add(base if count == 0 else f"{base}-{count}")
    for match in re.finditer(r"<a\s+(?:id|name)=\"([^\"]+)\"", path.read_text(encoding="utf-8")):
        ids.add(match.group(1))
    return ids


def check(path: Path) -> list[str]:
    problems = []
    where = path.relative_to(ROOT)
    for number, line in prose_lines(path):
        for match in LINK.finditer(line):
            target = match.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # http:, https:, mailto: …
            file_part, _, fragment = target.partition("#")
            if file_part.startswith("/"):
                problems.append(f"{where}:{number}: absolute link {target}")
                continue
            resolved = (path.parent / file_part).resolve() if file_part else path
            try:
                resolved.relative_to(ROOT)
            except ValueError:
                problems.append(f"{where}:{number}: link leaves the repository: {target}")
                continue
            if not resolved.exists():
                problems.append(f"{where}:{number}: no such file: {target}")
            elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
                problems.append(f"{where}:{number}: no heading #{fragment} in {resolved.relative_to(ROOT)}")
        for match in CODE_PATH.finditer(line):
            written = match.group(1).rstrip(".,;:")
            if any(c in written for c in "<>*{}$…"):
                continue  # a pattern, not a path
            if not (ROOT / written).exists():
                problems.append(f"{where}:{number}: path in code does not exist: {written}")
    return problems


def main() -> int:
    files = [Path(a).resolve() for a in sys.argv[1:]] or [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
    ]
    problems = [p for f in files for p in check(f)]
    for problem in problems:
        print(problem)
    print(f"{len(files)} files checked, {len(problems)} broken links")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
