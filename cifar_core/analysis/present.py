"""Showing results in a notebook so that both Jupyter and the report read them:
tables as one output with markdown (what the article embeds) and HTML, markdown notes,
and Quarto callouts.
"""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from cifar_core.analysis.flags import Anomaly


def show_table(table: pd.DataFrame, *, synthetic: bool = False, index: bool = False,
               floatfmt: str = ".3f") -> None:
    """Display ``table`` as one output carrying both a markdown pipe table (what the report
    embeds) and HTML (what Jupyter shows). On synthetic data the first column header says
    ``[SYNTHETIC DATA]`` so the table never passes for CIFAR-10 results."""
    from IPython.display import display

    if index:
        table = table.reset_index()
    if synthetic and len(table.columns):
        table = table.rename(columns={table.columns[0]: f"{table.columns[0]} [SYNTHETIC DATA]"})
    text = table.copy()
    for column in text.columns:
        if pd.api.types.is_float_dtype(text[column]):
            text[column] = ["–" if pd.isna(v) else format(v, floatfmt) for v in text[column]]
    text = text.astype(str)
    display({"text/markdown": text.to_markdown(index=False, disable_numparse=True),
             "text/html": text.to_html(index=False),
             "text/plain": text.to_string(index=False)}, raw=True)


def show_markdown(text: str) -> None:
    """Display markdown (callouts, notes) as a ``text/markdown`` output."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def callout(anomalies: Iterable[Anomaly | tuple[str, Anomaly]], *, title: str | None = None) -> str:
    """Quarto markdown: one ``::: {.callout-warning}`` block per anomaly ("" when none)."""
    blocks = []
    for item in anomalies:
        who, anomaly = item if isinstance(item, tuple) else (None, item)
        heading = title or anomaly.kind.replace("_", " ").capitalize()
        if who:
            heading = f"{heading}: {who}"
        blocks.append(f"::: {{.callout-warning}}\n## {heading}\n\n{anomaly.message}\n:::\n")
    return "\n".join(blocks)


def note_callout(message: str, *, kind: str = "note", title: str | None = None) -> str:
    """A single Quarto callout block (``note``, ``warning``, ``important``, ``tip``...)."""
    heading = f"## {title}\n\n" if title else ""
    return f"::: {{.callout-{kind}}}\n{heading}{message}\n:::\n"


def study_notes(studies: Iterable[Any]) -> str:
    """Markdown with each study remark once, headed by the studies that share it.

    >>> from types import SimpleNamespace as S
    >>> print(study_notes([S(title="Depth: blocks", notes=("Adam.", "Deep.")),
    ...                    S(title="Kernel size", notes=("Adam.",))]))
    **Depth, Kernel size.** Adam.
    <BLANKLINE>
    **Depth.** Deep.
    """
    shared: dict[str, list[str]] = {}
    for study in studies:
        for note in study.notes:
            shared.setdefault(note, []).append(study.title.split(":")[0])
    return "\n\n".join(f"**{', '.join(titles)}.** {note}" for note, titles in shared.items())
