"""How big ``cifar_core/`` is, by package, and how that compares with an older revision.

Line counts alone mislead when the formatter changed in between (``ruff format`` wraps a
long call over several lines; the package was first formatted in 405e631, which alone
turned the 15,759 lines of 263a9f7 into 19,143). So each tree is measured three ways:

* **lines**: physical lines, split into code, docstrings, comments and blank lines;
* **statements**: Python statements in the syntax tree (``ast.stmt`` nodes), which no
  formatting changes;
* **tokens**: code tokens (names, operators, literals; docstrings, comments and layout
  left out), also blind to formatting.

With ``--against REV`` the package at that git revision is measured too, after
formatting it with this project's ruff settings (``--as-committed`` skips that), and the
table shows both and the change.

    python benchmarks/code_size.py                       # the working tree, by package
    python benchmarks/code_size.py --against 263a9f7     # vs a revision, formatted alike
"""

from __future__ import annotations

import argparse
import ast
import io
import shutil
import subprocess
import tarfile
import tempfile
import tokenize
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "cifar_core"
KINDS = ("lines", "code", "docstrings", "comments", "blank", "statements", "tokens")
LAYOUT = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def measure_source(source: str) -> Counter:
    """The size of one Python file's text, in each of :data:`KINDS`.

    >>> size = measure_source("'''Doc.'''\\n\\n# why\\nx = f(1, 2)  # note\\n")
    >>> [size[kind] for kind in KINDS]
    [4, 1, 1, 1, 1, 2, 8]
    """
    lines = source.splitlines()
    tree = ast.parse(source)
    docstring_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                if isinstance(first.value.value, str):
                    docstring_lines.update(range(first.lineno, (first.end_lineno or 0) + 1))
    docstring_starts = {line for line in docstring_lines if line - 1 not in docstring_lines}
    size = Counter(
        lines=len(lines), statements=sum(isinstance(n, ast.stmt) for n in ast.walk(tree))
    )
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        kind = "docstrings" if number in docstring_lines else "code"
        if not text:
            kind = "blank"
        elif text.startswith("#"):
            kind = "comments"
        size[kind] += 1
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in LAYOUT or token.type == tokenize.COMMENT:
            continue
        if token.type == tokenize.STRING and token.start[0] in docstring_starts:
            continue
        size["tokens"] += 1
    return size


def measure_tree(package: Path) -> dict[str, Counter]:
    """Sizes by top-level part of ``package`` (a subpackage, or ``(modules)`` for the
    modules directly in it), and ``total``."""
    sizes: dict[str, Counter] = {"total": Counter()}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).parts
        part = parts[0] if len(parts) > 1 else "(modules)"
        size = measure_source(path.read_text())
        sizes.setdefault(part, Counter()).update(size)
        sizes["total"].update(size)
    return sizes


def package_at(revision: str, into: Path, *, formatted: bool) -> Path:
    """``cifar_core/`` as committed at ``revision``, unpacked under ``into`` (and formatted
    with the working tree's ruff settings unless ``formatted`` is false)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, PACKAGE],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise SystemExit(
            f"code_size.py: --against {revision!r}: git archive failed "
            f"({archive.stderr.decode().strip()}); give a commit of this repository"
        )
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python < 3.10.12
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, **safe)
    ruff = shutil.which("ruff")
    if formatted and ruff is None:
        raise SystemExit(
            "code_size.py: formatting the revision like the working tree needs ruff, which is "
            'not on PATH: pip install -e ".[dev]", or pass --as-committed'
        )
    if formatted:
        config = str(ROOT / "pyproject.toml")
        subprocess.run(
            [ruff, "format", "--quiet", "--config", config, PACKAGE], cwd=into, check=True
        )
    return into / PACKAGE


def table(now: dict[str, Counter], before: dict[str, Counter] | None = None) -> str:
    """One row per part (``total`` last), one column per kind; with ``before``, each cell
    reads ``before → now``."""
    parts = sorted((set(now) | set(before or {})) - {"total"}) + ["total"]
    header = f"{'part':14s}" + "".join(f"{kind:>19s}" for kind in KINDS)
    rows = [header]
    for part in parts:
        cells = []
        for kind in KINDS:
            value = now.get(part, Counter())[kind]
            if before is None:
                cells.append(f"{value:>19,}")
            else:
                old = before.get(part, Counter())[kind]
                cells.append(f"{f'{old:,} → {value:,}':>19s}")
        rows.append(f"{part:14s}" + "".join(cells))
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="a git revision to compare with")
    parser.add_argument(
        "--as-committed",
        action="store_true",
        help="measure REV as committed, without formatting it like the working tree",
    )
    args = parser.parse_args()
    now = measure_tree(ROOT / PACKAGE)
    if args.against is None:
        print(table(now))
        return
    with tempfile.TemporaryDirectory() as scratch:
        before = measure_tree(
            package_at(args.against, Path(scratch), formatted=not args.as_committed)
        )
    how = "as committed" if args.as_committed else "formatted like the working tree"
    print(f"{PACKAGE}/ at {args.against} ({how}) → the working tree\n")
    print(table(now, before))


if __name__ == "__main__":
    main()
