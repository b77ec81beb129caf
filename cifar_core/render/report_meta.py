"""Who and what the report is: title, subtitle, authors, keywords, licence and date.

One place is yours: ``report.yml`` at the project root. It is optional and git-ignored,
the build never writes it and an update of the project never replaces it (copy
``report.example.yml`` to start). Each key you set replaces the default:

- ``title``: the project's title below;
- ``subtitle``: the build profile's ``build-subtitle`` (``_quarto-<profile>.yml``), which
  says what kind of build the numbers come from;
- ``author``: none (a report names no author until you do); each author has a ``name``
  and optionally ``orcid``, ``email``, ``url`` and ``affiliations``;
- ``keywords``: :data:`DEFAULT_KEYWORDS`; ``license``: none;
- ``date``: the build date (``build.date`` in ``_variables.yml``), else today.

:func:`write_report_metadata` writes the merged result to ``_report-metadata.yml``,
which ``_quarto.yml`` reads (``metadata-files``); the built-in renderer uses
:func:`report_metadata` directly, so both print the same title block. The merge is done
here, key by key: Quarto itself would append the authors and keywords of one metadata
file to those of another instead of replacing them.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

import yaml

from .config import read_yaml
from .errors import RenderError

USER_FILE = "report.yml"
GENERATED_FILE = "_report-metadata.yml"
DEFAULT_TITLE = (
    "Rebuilding five CIFAR-10 studies: baselines, ablations, regularization, "
    "transfer learning and errors"
)
DEFAULT_KEYWORDS = (
    "CIFAR-10",
    "image classification",
    "convolutional neural networks",
    "ablation study",
    "reproducibility",
)
REPORT_KEYS = frozenset({"title", "subtitle", "author", "keywords", "license", "date"})
"""The settings of ``report.yml`` (a Quarto profile or the front matter must not set them)."""
AUTHOR_KEYS = frozenset({"name", "orcid", "email", "url", "affiliations", "corresponding"})
ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
MONTHS = (
    "January February March April May June July August September October November December"
).split()


def _fail(path: Path, key: str, problem: str, fix: str) -> RenderError:
    return RenderError(f"{path}: `{key}` {problem}; {fix}.")


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, (str, int, float)) or not str(value).strip():
        raise _fail(path, key, f"is {value!r}", "write it as a non-empty text")
    return str(value).strip()


def _affiliations(path: Path, key: str, value: Any) -> list[dict[str, str]]:
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else item
        out.append({"name": _text(path, f"{key}[{i}].name", name)})
    return out


def _author(path: Path, i: int, value: Any) -> dict[str, Any]:
    key = f"author[{i}]"
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or "name" not in value:
        raise _fail(path, key, f"is {value!r}", "give each author a `name:`")
    unknown = sorted(set(value) - AUTHOR_KEYS)
    if unknown:
        raise _fail(path, key, f"has unknown keys {unknown}", f"use {sorted(AUTHOR_KEYS)}")
    author: dict[str, Any] = {"name": _text(path, f"{key}.name", value["name"])}
    if value.get("orcid") is not None:
        orcid = _text(path, f"{key}.orcid", value["orcid"])
        if not ORCID_RE.match(orcid):
            raise _fail(path, f"{key}.orcid", f"is {orcid!r}", "write it as 0000-0002-1825-0097")
        author["orcid"] = orcid
    for field in ("email", "url"):
        if value.get(field) is not None:
            author[field] = _text(path, f"{key}.{field}", value[field])
    if value.get("affiliations") is not None:
        author["affiliations"] = _affiliations(path, f"{key}.affiliations", value["affiliations"])
    if value.get("corresponding") is not None:
        author["corresponding"] = bool(value["corresponding"])
    return author


def _date(path: Path, value: Any) -> str:
    if isinstance(value, _dt.date):
        return value.isoformat()
    try:
        return _dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise _fail(path, "date", f"is {value!r}", "write it as YYYY-MM-DD") from None


def user_metadata(root: Path) -> dict[str, Any]:
    """``report.yml``, checked (empty when there is none)."""
    path = root / USER_FILE
    if not path.is_file():
        return {}
    raw = read_yaml(path)
    unknown = sorted(set(raw) - REPORT_KEYS)
    if unknown:
        raise _fail(
            path, ", ".join(unknown), "is not a report setting", f"use {sorted(REPORT_KEYS)}"
        )
    meta: dict[str, Any] = {}
    for key in ("title", "subtitle", "license"):
        if key in raw:
            meta[key] = _text(path, key, raw[key])
    if "author" in raw:
        authors = raw["author"] if isinstance(raw["author"], list) else [raw["author"]]
        meta["author"] = [_author(path, i, a) for i, a in enumerate(authors)]
    if "keywords" in raw:
        keywords = raw["keywords"]
        if not isinstance(keywords, list):
            raise _fail(path, "keywords", f"is {keywords!r}", "write a list: [CIFAR-10, …]")
        meta["keywords"] = [_text(path, f"keywords[{i}]", k) for i, k in enumerate(keywords)]
    if "date" in raw:
        meta["date"] = _date(path, raw["date"])
    return meta


def build_date(root: Path) -> str:
    """``build.date`` of ``_variables.yml``, else today (ISO)."""
    path = root / "_variables.yml"
    build = (read_yaml(path).get("build") or {}) if path.is_file() else {}
    if build.get("date"):
        return _date(path, build["date"])
    return _dt.date.today().isoformat()


def report_metadata(root: Path, profile_subtitle: str | None = None) -> dict[str, Any]:
    """The defaults with ``report.yml`` over them (see the module docstring)."""
    meta: dict[str, Any] = {"title": DEFAULT_TITLE, "keywords": list(DEFAULT_KEYWORDS)}
    if profile_subtitle:
        meta["subtitle"] = profile_subtitle
    meta["date"] = build_date(root)
    meta.update(user_metadata(root))
    return meta


def write_report_metadata(root: Path, profile_subtitle: str | None = None) -> Path:
    """Write ``_report-metadata.yml`` (only when its content changes, so that a watching
    ``quarto preview`` does not see a change that is none)."""
    path = root / GENERATED_FILE
    text = "# Written by cifar-report from report.yml and the defaults; edit report.yml.\n"
    text += yaml.safe_dump(report_metadata(root, profile_subtitle), allow_unicode=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def display_date(iso: str) -> str:
    """The date as the title block prints it (Quarto's default for English).

    >>> display_date("2026-12-02")
    'December 2, 2026'
    """
    date = _dt.date.fromisoformat(iso)
    return f"{MONTHS[date.month - 1]} {date.day}, {date.year}"
