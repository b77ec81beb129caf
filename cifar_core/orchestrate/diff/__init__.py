"""``cifar-report diff OLD NEW``: what changed in the report's results between two
builds (two project folders, or two folders of executed notebooks).

Reading (:mod:`.content`) keeps only results: tables, generated sentences, figures'
plotted values and ``_variables.yml``. Comparing (:mod:`.compare`) matches table rows
by their key columns and sentences with `difflib`; :mod:`.ignore` names what is not a
result (timings, paths, dates, versions, hashes, environment) and sets it aside unless
asked for; :mod:`.show` prints the differences grouped by chapter, or as JSON. Nothing
here imports TensorFlow or Keras, so a diff of the demo build takes about a second.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from cifar_core.project import ProjectError

from .compare import Change, compare_builds
from .content import BUILD_SECTION, VARIABLES_SECTION, Build, read_build
from .ignore import KINDS, Ignore

__all__ = ["Change", "Diff", "Ignore", "KINDS", "diff_builds", "read_build"]


@dataclass
class Diff:
    """The differences between two builds, and what the rules set aside."""

    old: Build
    new: Build
    ignore: Ignore
    changes: list[Change]
    ignored: dict[str, int] = field(default_factory=dict)  # kind → differences set aside
    chapter: str | None = None

    @property
    def identical(self) -> bool:
        return not self.changes

    def notes(self) -> list[str]:
        """What could not be compared (a side without ``_variables.yml``)."""
        lacking = [
            f"{side} ({build.path})"
            for side, build in (("OLD", self.old), ("NEW", self.new))
            if build.variables is None
        ]
        if not lacking:
            return []
        return [f"_variables.yml not compared: missing in {' and '.join(lacking)}"]


def diff_builds(
    old: str | Path, new: str | Path, include: tuple[str, ...] = (), chapter: str | None = None
) -> Diff:
    """Compare the builds at ``old`` and ``new`` (see :func:`.content.locate`);
    ``include``: kinds of :data:`.ignore.KINDS` to compare anyway; ``chapter``: keep
    only the changes of that chapter (a full name or a unique prefix, ``03``).

    Raises :class:`ProjectError` when a path is not a build or the chapter is unknown.
    """
    old_build, new_build = read_build(old, "OLD"), read_build(new, "NEW")
    ignore = Ignore(include)
    name = _chapter(chapter, old_build, new_build) if chapter else None

    def changes(rules: Ignore) -> list[Change]:
        found = compare_builds(old_build, new_build, rules)
        return [c for c in found if name is None or c.chapter == name]

    found = changes(ignore)
    ignored = {
        kind: max(0, len(changes(Ignore({*include, kind}))) - len(found))
        for kind in KINDS
        if ignore.ignores(kind)
    }
    return Diff(old_build, new_build, ignore, found, ignored, name)


def _chapter(text: str, *builds: Build) -> str:
    """The chapter ``text`` names: itself, or the one chapter it starts (``03``) or
    names without its number (``architecture``)."""
    known = sorted({c for b in builds for c in b.chapters} | {BUILD_SECTION, VARIABLES_SECTION})
    if text in known:
        return text
    matches = [c for c in known if c.startswith(text) or c.partition("-")[2] == text]
    if len(matches) == 1:
        return matches[0]
    close = difflib.get_close_matches(text, known, n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
    which = "is ambiguous" if matches else "is not a chapter of either build"
    raise ProjectError(f"--chapter {text!r} {which}; {hint}")
