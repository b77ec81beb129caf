"""Showing results in a notebook so that both Jupyter and the report read them:
tables as markdown (what the article embeds; Jupyter renders it too), markdown notes,
and Quarto callouts.

No output carries ``text/html``: for any HTML output in an embedded notebook Quarto adds
require.js and jquery from a CDN to the page (docs/quarto.md, 6). Sorting and filtering
the long tables is added to the HTML page by the renderer (`cifar_core.render.tables`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
from IPython.display import Markdown, display

from cifar_core.analysis import text
from cifar_core.analysis.flags import Anomaly
from cifar_core.experiments.catalog import Study


def show_table(
    table: pd.DataFrame, *, synthetic: bool = False, index: bool = False, floatfmt: str = ".3f"
) -> None:
    """Display ``table`` as one output: a markdown pipe table (what the report embeds and
    Jupyter renders) and plain text, never HTML (see the module docstring). On synthetic
    data the first column header says ``[SYNTHETIC DATA]`` so the table never passes for
    CIFAR-10 results."""
    if index:
        table = table.reset_index()
    if synthetic and len(table.columns):
        table = table.rename(columns={table.columns[0]: f"{table.columns[0]} [SYNTHETIC DATA]"})
    shown = table.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = [
                text.UNKNOWN if pd.isna(v) else format(v, floatfmt) for v in shown[column]
            ]
    shown = shown.astype(str)
    display(
        {
            "text/markdown": shown.to_markdown(index=False, disable_numparse=True),
            "text/plain": shown.to_string(index=False),
        },
        raw=True,
    )


def show_markdown(text: str) -> None:
    """Display markdown (callouts, notes) as a ``text/markdown`` output."""
    display(Markdown(text))


def callout(anomalies: Iterable[Anomaly | tuple[str, Anomaly]]) -> str:
    """Quarto markdown: ONE ``::: {.callout-warning}`` for all ``anomalies`` ("" when none).

    Its body is a table with a row per flagged run (the run, the kind of flag and the
    run's numbers) followed by what each kind means, said once.

    >>> a = Anomaly("large_gap", "…", evidence="train 98.0%, test 60.0%: gap 38.0 points",
    ...             explanation="training accuracy exceeds test accuracy by more than 15 points.")
    >>> print(callout([("cnn (seed 0)", a), ("mlp (seed 1)", a)]))
    ::: {.callout-warning}
    ## Flagged runs (2)
    <BLANKLINE>
    | run | flag | numbers |
    |:--|:--|:--|
    | cnn (seed 0) | large gap | train 98.0%, test 60.0%: gap 38.0 points |
    | mlp (seed 1) | large gap | train 98.0%, test 60.0%: gap 38.0 points |
    <BLANKLINE>
    **Large gap** (2 runs): training accuracy exceeds test accuracy by more than 15 points.
    :::
    <BLANKLINE>
    """
    items = [item if isinstance(item, tuple) else (None, item) for item in anomalies]
    if not items:
        return ""
    if len(items) == 1 and not items[0][1].evidence:
        who, anomaly = items[0]
        heading = _kind_name(anomaly.kind).capitalize()
        heading = f"{heading}: {who}" if who else heading
        return note_callout(anomaly.message, kind="warning", title=heading)
    heading = "Flagged run" if len(items) == 1 else f"Flagged runs ({len(items)})"
    rows = ["| run | flag | numbers |", "|:--|:--|:--|"]
    meanings: dict[str, tuple[str, int]] = {}
    for who, anomaly in items:
        rows.append(
            f"| {_cell(who or text.UNKNOWN)} | {_kind_name(anomaly.kind)} | "
            f"{_cell(anomaly.evidence or anomaly.message)} |"
        )
        meaning, count = meanings.get(anomaly.kind, (anomaly.explanation, 0))
        meanings[anomaly.kind] = (meaning, count + 1)
    notes = [
        f"**{_kind_name(kind).capitalize()}** ({count} run{'s' if count > 1 else ''}): {meaning}"
        for kind, (meaning, count) in meanings.items()
        if meaning
    ]
    body = "\n".join(rows) + ("\n\n" + "\n\n".join(notes) if notes else "")
    return note_callout(body, kind="warning", title=heading)


def _kind_name(kind: str) -> str:
    return kind.replace("_", " ")


def _cell(value: str) -> str:
    """Text safe inside a pipe-table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def note_callout(
    message: str, *, kind: str = "note", title: str | None = None, collapse: bool = False
) -> str:
    """A single Quarto callout block (``note``, ``warning``, ``important``, ``tip``...);
    ``collapse`` folds it under its title (Quarto's HTML and the built-in renderer's).

    >>> print(note_callout("Body.", title="Title", collapse=True))
    ::: {.callout-note collapse="true"}
    ## Title
    <BLANKLINE>
    Body.
    :::
    <BLANKLINE>
    """
    heading = f"## {title}\n\n" if title else ""
    folded = ' collapse="true"' if collapse else ""
    return f"::: {{.callout-{kind}{folded}}}\n{heading}{message}\n:::\n"


def study_notes(studies: Iterable[Study]) -> str:
    """Markdown with each study remark once, headed by the studies that share it; a
    study's consecutive remarks share one paragraph.

    >>> from types import SimpleNamespace as S
    >>> print(study_notes([S(title="Depth: blocks", notes=("Adam.", "Deep.", "Slow.")),
    ...                    S(title="Kernel size", notes=("Adam.",))]))
    **Depth, Kernel size.** Adam.
    <BLANKLINE>
    **Depth.** Deep. Slow.
    """
    shared: dict[str, list[str]] = {}
    for study in studies:
        for note in study.notes:
            shared.setdefault(note, []).append(study.title.split(":")[0])
    paragraphs: list[tuple[str, list[str]]] = []
    for note, titles in shared.items():
        heading = ", ".join(titles)
        if paragraphs and paragraphs[-1][0] == heading:
            paragraphs[-1][1].append(note)
        else:
            paragraphs.append((heading, [note]))
    return "\n\n".join(f"**{heading}.** {' '.join(notes)}" for heading, notes in paragraphs)


def not_run_notes(not_run: Mapping[str, str], lead: str = "Not run in this build") -> list[str]:
    """``["Not run in this build: a (why); b (why)."]``, or ``[]`` when everything ran.

    >>> not_run_notes({"vgg": "full profile only"})
    ['Not run in this build: vgg (full profile only).']
    """
    if not not_run:
        return []
    return [f"{lead}: " + "; ".join(f"{n} ({why})" for n, why in not_run.items()) + "."]
