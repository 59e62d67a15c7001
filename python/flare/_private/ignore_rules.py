"""gitignore-style patterns: which files of a working_dir stay behind.

A rule set is built from runtime_env ``excludes`` (relative to the working
directory) and from the ``.gitignore`` files met on the way down (each
relative to its own directory). The subset of gitignore flare understands:

- ``name`` (no slash) matches that name at any depth: ``*.log``, ``build``;
- ``dir/name`` or ``/name`` (a slash before the end) is anchored to the
  directory the rule comes from;
- a trailing ``/`` matches directories only;
- ``*`` and ``?`` stay within one path component, ``**`` spans several,
  ``[abc]`` is a character class;
- ``!pattern`` re-includes what an earlier rule excluded; the last rule
  that matches decides. As in git, nothing under an excluded directory can
  be re-included (the walk does not enter it);
- blank lines and ``#`` comments are skipped.

No file system access here: the caller reads the ``.gitignore`` files.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Pattern, Tuple


class _Rule:
    def __init__(self, pattern: str, base: str) -> None:
        self.negated = pattern.startswith("!")
        if self.negated:
            pattern = pattern[1:]
        self.directories_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        # A slash anywhere but the end anchors the rule to its base.
        self.anchored = "/" in pattern
        self.base = base  # "" or "sub/dir/": where the rule's file lives
        self.regex: Pattern[str] = re.compile(_translate(pattern.lstrip("/")))

    def matches(self, relative: str, is_dir: bool) -> bool:
        """``relative``: the path from the working directory's root."""
        if self.directories_only and not is_dir:
            return False
        if self.base:
            if not relative.startswith(self.base):
                return False
            relative = relative[len(self.base):]
        if self.anchored:
            return self.regex.fullmatch(relative) is not None
        return self.regex.fullmatch(relative.rpartition("/")[2]) is not None


def _translate(pattern: str) -> str:
    """A gitignore glob as a regular expression over '/'-separated paths."""
    out: List[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def parse_lines(lines: Iterable[str]) -> List[str]:
    """The patterns of a .gitignore file's lines: no blanks, no comments."""
    patterns = []
    for line in lines:
        line = line.rstrip("\n").rstrip()
        if line and not line.startswith("#"):
            patterns.append(line)
    return patterns


class IgnoreRules:
    """An ordered set of rules; immutable, ``with_rules`` makes a larger one."""

    def __init__(self, rules: Tuple[_Rule, ...] = ()) -> None:
        self._rules = rules

    def with_patterns(self, patterns: Iterable[str], base: str = "") -> "IgnoreRules":
        """These rules followed by ``patterns`` relative to ``base`` ('' for
        the root, else 'sub/dir')."""
        prefix = base.strip("/") + "/" if base.strip("/") else ""
        added = tuple(_Rule(p, prefix) for p in patterns if p and p != "!")
        return IgnoreRules(self._rules + added) if added else self

    def excluded(self, relative: str, is_dir: bool) -> bool:
        """Whether the file or directory at ``relative`` (from the root,
        '/'-separated) stays behind."""
        verdict: Optional[bool] = None
        for rule in self._rules:
            if rule.matches(relative, is_dir):
                verdict = not rule.negated
        return bool(verdict)
