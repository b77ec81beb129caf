"""Look at a rendered PDF as printed pages: every page renders (poppler's `pdftoppm`),
nothing is drawn into the left or right margin (a figure or table wider than the text
block), and no two words are drawn over each other (a table cell's text running into
the next column; poppler's `pdftotext -bbox` gives each word's box).

    python -m tests.support.pdfcheck _site/index.pdf [--pages-dir DIR]

The text block is Typst's default for the page size: a margin of 2.5/21 of the shorter
page side on each side (https://typst.app/docs/reference/layout/page/#parameters-margin),
which is what pandoc's and Quarto's Typst templates use when no margin is set.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cifar_core.render.errors import RenderError

INK = 235  # a pixel darker than this (0-255 grey) is ink
TOLERANCE_PT = 3.0  # anti-aliasing and glyph overhang
OVERLAP_PT = 1.0  # two words' boxes may touch by this much (kerning, italic overhang)
WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
)


@dataclass
class PdfReport:
    """Pages, rendered page images, pages with ink outside the text block, and words
    drawn over each other."""

    pages: int
    page_size_pt: tuple[float, float]
    images: list[Path] = field(default_factory=list)
    overflows: list[str] = field(default_factory=list)
    overlaps: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = self.overflows + self.overlaps
        if len(self.images) != self.pages:
            out.append(f"{self.pages} pages but {len(self.images)} rendered by pdftoppm")
        return out


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RenderError(
            f"`{name}` is not on PATH; install poppler (Debian: "
            "`apt-get install poppler-utils`) to check the PDF's pages."
        )
    return path


def pdf_info(pdf: Path) -> tuple[int, tuple[float, float]]:
    """Number of pages and the first page's size in points."""
    out = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True)
    pages = re.search(r"^Pages:\s+(\d+)", out.stdout, re.M)
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", out.stdout, re.M)
    if out.returncode != 0 or not pages or not size:
        raise RenderError(f"pdfinfo cannot read {pdf}: {out.stderr.strip()}")
    return int(pages.group(1)), (float(size.group(1)), float(size.group(2)))


def check_pdf(pdf: Path, pages_dir: Path, dpi: int = 50) -> PdfReport:
    """Render every page to PNG in ``pages_dir`` and find ink in the side margins."""
    from PIL import Image

    pages, (width, height) = pdf_info(pdf)
    report = PdfReport(pages, (width, height))
    out_dir = Path(pages_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [_tool("pdftoppm"), "-r", str(dpi), "-gray", "-png", str(pdf), str(out_dir / "page")],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RenderError(f"pdftoppm could not render {pdf}: {result.stderr.strip()}")
    report.images = sorted(out_dir.glob("page-*.png"))
    scale = dpi / 72
    margin = 2.5 / 21 * min(width, height)
    left = int((margin - TOLERANCE_PT) * scale)
    right = int((width - margin + TOLERANCE_PT) * scale) + 1
    for number, path in enumerate(report.images, 1):
        pixels = np.asarray(Image.open(path).convert("L"))
        ink_columns = np.flatnonzero((pixels < INK).any(axis=0))
        if ink_columns.size and (ink_columns[0] < left or ink_columns[-1] >= right):
            report.overflows.append(
                f"page {number}: ink from {ink_columns[0] / scale:.0f} pt to "
                f"{ink_columns[-1] / scale:.0f} pt, text block {margin:.0f}-"
                f"{width - margin:.0f} pt (a figure or table wider than the text)"
            )
    report.overlaps = overlapping_words(pdf)
    return report


def overlapping_words(pdf: Path) -> list[str]:
    """Pairs of words whose boxes overlap on a page, e.g. a table header word wider
    than its column drawn into the next one's."""
    result = subprocess.run(
        [_tool("pdftotext"), "-bbox", str(pdf), "-"], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RenderError(f"pdftotext could not read {pdf}: {result.stderr.strip()}")
    found = []
    for number, page in enumerate(result.stdout.split("<page ")[1:], 1):
        words = sorted(
            (*map(float, box), html.unescape(text)) for *box, text in WORD.findall(page)
        )  # by xMin, so each word is compared with the words that start right of it
        for i, (_x0, y0, x1, y1, text) in enumerate(words):
            for u0, v0, _u1, v1, other in words[i + 1 :]:
                if u0 >= x1 - OVERLAP_PT:
                    break
                if min(y1, v1) - max(y0, v0) > 0.5 * min(y1 - y0, v1 - v0):
                    found.append(f"page {number}: {text!r} and {other!r} overlap")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--pages-dir", type=Path, help="keep the page images here")
    args = parser.parse_args(argv)
    report = check_pdf(args.pdf, args.pages_dir or Path(tempfile.mkdtemp(prefix="pages-")))
    print(
        f"{args.pdf}: {report.pages} pages of {report.page_size_pt[0]:.0f}x"
        f"{report.page_size_pt[1]:.0f} pt, images in {report.images[0].parent if report.images else '-'}"
    )
    for problem in report.problems():
        print(f"- {problem}")
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
