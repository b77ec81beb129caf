"""Look at a rendered HTML report as a reader's browser shows it: headless Chromium,
driven over the Chrome DevTools protocol (websocket-client), fully offline.

`inspect_page` loads a file at a given viewport width and reports console errors,
images that did not load, horizontal overflow, the title and the language, and saves
screenshots (the first screen, and optionally one element such as a figure).

    python -m tests.support.browser _site/index.html --screenshot first.png \\
        --element '#fig-summary-pareto' figure.png

Needs a Chromium (Debian: `apt-get install chromium`) and the `websocket-client` package
(in the `dev` extra).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cifar_core.render.errors import RenderError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
    "--hide-scrollbars",
)
DEVTOOLS_RE = re.compile(r"DevTools listening on (ws://\S+)")

#: Resolves once the page's scripts have settled: the sortable tables
#: (`cifar_core.render.tables`) set ``data-interactive-tables`` on <html> when done.
SETTLED = """new Promise((resolve) => {
  const tables = document.querySelector('script[type=module]') !== null;
  const started = Date.now();
  (function wait() {
    if (!tables || document.documentElement.dataset.interactiveTables !== undefined
        || Date.now() - started > 15000) return resolve(true);
    setTimeout(wait, 50);
  })();
})"""

#: Evaluated in the page after load: what a reader would notice.
PAGE_FACTS = """(() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const broken = Array.from(document.images)
    .filter(img => !img.complete || img.naturalWidth === 0)
    .map(img => (img.id || img.alt || img.src).slice(0, 80));
  const wide = Array.from(document.querySelectorAll('body *'))
    .filter(el => el.getBoundingClientRect().right > width + 1
                  && getComputedStyle(el).position !== 'fixed')
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
               + (el.className && typeof el.className === 'string'
                  ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
  return JSON.stringify({title: document.title, lang: root.lang, width,
                         scrollWidth: root.scrollWidth, height: root.scrollHeight,
                         broken, wide});
})()"""


#: After a click: where the page is, and the image a reader now sees on top (the element
#: at the centre of the viewport, or inside it): loaded or not, in a dialog (an overlay
#: such as a lightbox) or not.
AFTER_CLICK = """(() => {
  const top = document.elementFromPoint(innerWidth / 2, innerHeight / 2);
  const img = top && (top.tagName === 'IMG' ? top : top.querySelector('img'));
  return JSON.stringify({url: location.href, top: top ? top.tagName.toLowerCase()
      + (top.className && typeof top.className === 'string' ? '.' + top.className : '') : null,
    dialog: !!(top && top.closest('[role="dialog"]')),
    image: img ? {loaded: img.complete && img.naturalWidth > 0, width: img.naturalWidth,
                  shown_width: Math.round(img.getBoundingClientRect().width),
                  embedded: img.src.startsWith('data:')} : null});
})()"""


@dataclass
class PageReport:
    """What loading the page showed."""

    url: str
    title: str = ""
    lang: str = ""
    width: int = 0
    scroll_width: int = 0
    height: int = 0
    console_errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    overflowing: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    evaluated: list = field(default_factory=list)
    clicked: dict = field(default_factory=dict)

    @property
    def horizontal_scrollbar(self) -> bool:
        return self.scroll_width > self.width

    def problems(self) -> list[str]:
        """Console errors, broken images and horizontal overflow, one line each."""
        out = [f"console error: {e}" for e in self.console_errors]
        out += [f"image did not load: {i}" for i in self.broken_images]
        if self.horizontal_scrollbar:
            out.append(
                f"horizontal scrollbar: page is {self.scroll_width}px wide in a "
                f"{self.width}px viewport (widest: {', '.join(self.overflowing)})"
            )
        return out


def find_chromium() -> str | None:
    """The first Chromium-like browser on PATH, or None."""
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


class DevTools:
    """A minimal Chrome DevTools protocol session with one page."""

    def __init__(self, websocket_url: str, timeout: float = 30.0):
        import websocket

        self.ws = websocket.create_connection(websocket_url, timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RenderError(f"Chromium refused {method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise RenderError(f"Chromium did not report {method} within {timeout:.0f} s.")
            self.events.append(json.loads(self.ws.recv()))

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive within ``seconds``."""
        import websocket

        timeout = self.ws.gettimeout()
        self.ws.settimeout(seconds)
        try:
            while True:
                self.events.append(json.loads(self.ws.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self.ws.settimeout(timeout)

    def close(self) -> None:
        self.ws.close()


def _launch(chromium: str, profile_dir: str, width: int, height: int):
    command = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile_dir}",
        f"--window-size={width},{height}",
        "about:blank",
    ]
    # Its own process group, so that stopping it stops its renderer processes too; its
    # temporary files (a singleton socket it leaves when stopped) inside the profile
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "TMPDIR": profile_dir},
    )
    deadline, seen = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        match = DEVTOOLS_RE.search(line)
        if match:
            return proc, match.group(1)
    _stop(proc)
    raise RenderError(f"{chromium} did not start its DevTools endpoint: {''.join(seen[-5:])}")


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _page_websocket(browser_ws: str) -> str:
    port = re.search(r":(\d+)/", browser_ws).group(1)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
        pages = [t for t in json.load(reply) if t.get("type") == "page"]
    return pages[0]["webSocketDebuggerUrl"]


def _console_errors(events: list[dict]) -> list[str]:
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(
                " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
                )
            )
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append(
                details.get("exception", {}).get("description") or details.get("text", "exception")
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            errors.append(f"{entry.get('text', '')} {entry.get('url', '')}".strip())
    return errors


def _screenshot(tools: DevTools, path: Path, clip: dict) -> Path:
    data = tools.call(
        "Page.captureScreenshot",
        format="png",
        captureBeyondViewport=True,
        clip={**clip, "scale": 1},
    )["data"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(data))
    return path


def use_long_table(entries: int, search: str = "flagship", sort_column: str = "epochs") -> str:
    """A script for ``inspect_page(evaluate=...)``: find the interactive table of
    ``entries`` rows, then filter it for ``search``, clear the filter and sort it by
    ``sort_column`` twice (descending), as a reader would by typing and clicking.
    Its value: ``{found, shown, pages, filtered, filteredNames, top}`` (rows shown,
    paging buttons, the info line after filtering, the first column of the filtered rows,
    the sorted column's values on the first page); ``{found: false}`` without it."""
    script = """(async () => {
  const settle = () => new Promise((r) => setTimeout(r, 300));
  const box = [...document.querySelectorAll('div.dt-container')]
    .find((c) => new RegExp(`of ${ENTRIES} entries`).test(c.querySelector('.dt-info')?.textContent || ''));
  if (!box) return {found: false};
  const rows = () => [...box.querySelectorAll('tbody tr')];
  const info = () => box.querySelector('.dt-info').textContent;
  const shown = rows().length, pages = box.querySelectorAll('.dt-paging button').length;
  const input = box.querySelector('.dt-search input');
  input.value = SEARCH;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  await settle();
  const filtered = info(), filteredNames = rows().map((r) => r.cells[0].textContent);
  input.value = '';
  input.dispatchEvent(new Event('input', {bubbles: true}));
  await settle();
  const epochs = [...box.querySelectorAll('thead th')].findIndex((th) => new RegExp(SORT).test(th.textContent));
  box.querySelectorAll('thead th')[epochs].click();
  await settle();
  box.querySelectorAll('thead th')[epochs].click();  // descending
  await settle();
  const top = rows().map((r) => Number(r.cells[epochs].textContent));
  return {found: true, shown, pages, filtered, filteredNames, top};
})()"""
    return (
        script.replace("ENTRIES", str(int(entries)))
        .replace("SEARCH", json.dumps(search))
        .replace("SORT", json.dumps(sort_column))
    )


def inspect_page(
    html: Path,
    *,
    width: int = 1280,
    height: int = 900,
    screenshot: Path | None = None,
    element: tuple[str, Path] | None = None,
    evaluate: tuple[str, ...] = (),
    click: tuple[str, Path | None] | None = None,
    chromium: str | None = None,
    timeout: float = 60.0,
) -> PageReport:
    """Load ``html`` in headless Chromium at ``width`` px and report what a reader sees.

    ``screenshot`` saves the first screen; ``element=(css_selector, path)`` saves that
    element (e.g. a figure); each JavaScript expression of ``evaluate`` is run in the
    page in turn (a promise is awaited) and its JSON value appended to ``evaluated``.
    ``click=(css_selector, path or None)`` then clicks the middle of that element with
    the mouse, as a reader would, and records in ``clicked`` where the page went and the
    image now on top (optionally saving the screen to ``path``)."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise RenderError(
            "no Chromium on PATH; install it (Debian: `apt-get install "
            "chromium`) to check the page in a browser."
        )
    url = Path(html).resolve().as_uri()
    report = PageReport(url=url)
    with tempfile.TemporaryDirectory(
        prefix="chromium-profile-", ignore_cleanup_errors=True
    ) as profile_dir:
        proc, browser_ws = _launch(chromium, profile_dir, width, height)
        try:
            tools = DevTools(_page_websocket(browser_ws), timeout=timeout)
            for domain in ("Runtime", "Log", "Page"):
                tools.call(f"{domain}.enable")
            tools.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            tools.call("Page.navigate", url=url)
            tools.wait_for("Page.loadEventFired", timeout)
            tools.call("Runtime.evaluate", expression=SETTLED, awaitPromise=True)
            tools.drain(0.5)
            facts = json.loads(
                tools.call("Runtime.evaluate", expression=PAGE_FACTS, returnByValue=True)["result"][
                    "value"
                ]
            )
            report.title, report.lang = facts["title"], facts["lang"]
            report.width, report.scroll_width = facts["width"], facts["scrollWidth"]
            report.height = facts["height"]
            report.broken_images, report.overflowing = facts["broken"], facts["wide"]
            if screenshot:
                report.screenshots.append(
                    _screenshot(
                        tools, Path(screenshot), {"x": 0, "y": 0, "width": width, "height": height}
                    )
                )
            if element:
                selector, path = element
                box = tools.call(
                    "Runtime.evaluate",
                    returnByValue=True,
                    expression=(
                        f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
                        " if (!el) return null; const r = el.getBoundingClientRect();"
                        " return {x: r.left + scrollX, y: r.top + scrollY,"
                        " width: r.width, height: r.height}; })()"
                    ),
                )["result"].get("value")
                if not box:
                    raise RenderError(f"no element matches {selector!r} in {html}.")
                report.screenshots.append(_screenshot(tools, Path(path), box))
            for expression in evaluate:
                result = tools.call(
                    "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
                )
                if "exceptionDetails" in result:
                    raise RenderError(
                        f"{expression[:60]!r} failed in the page: "
                        f"{result['exceptionDetails'].get('text')}"
                    )
                report.evaluated.append(result["result"].get("value"))
            if click:
                report.clicked = _click(tools, html, *click)
            tools.drain(0.2)
            report.console_errors = _console_errors(tools.events)
            tools.close()
        finally:
            _stop(proc)
    return report


def _click(tools: DevTools, html: Path, selector: str, screenshot: Path | None) -> dict:
    """Scroll ``selector`` into view, click its middle, and report what is shown then."""
    box = tools.call(
        "Runtime.evaluate",
        returnByValue=True,
        expression=(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " if (!el) return null; el.scrollIntoView({block: 'center'});"
            " const r = el.getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()"
        ),
    )["result"].get("value")
    if not box:
        raise RenderError(f"no element matches {selector!r} in {html}.")
    for kind in ("mousePressed", "mouseReleased"):
        tools.call(
            "Input.dispatchMouseEvent",
            type=kind,
            x=box["x"],
            y=box["y"],
            button="left",
            clickCount=1,
        )
    tools.drain(1.0)  # a navigation or an overlay's image load
    facts = json.loads(
        tools.call("Runtime.evaluate", expression=AFTER_CLICK, returnByValue=True)["result"][
            "value"
        ]
    )
    if screenshot:
        metrics = tools.call("Page.getLayoutMetrics")["cssVisualViewport"]
        facts["screenshot"] = str(
            _screenshot(
                tools,
                Path(screenshot),
                {
                    "x": metrics["pageX"],
                    "y": metrics["pageY"],
                    "width": metrics["clientWidth"],
                    "height": metrics["clientHeight"],
                },
            )
        )
    return facts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--screenshot", type=Path, help="save the first screen here")
    parser.add_argument(
        "--element",
        nargs=2,
        metavar=("SELECTOR", "PNG"),
        help="save the element matching SELECTOR (e.g. '#fig-x') here",
    )
    parser.add_argument(
        "--click",
        nargs=2,
        metavar=("SELECTOR", "PNG"),
        help="click the element matching SELECTOR (e.g. '#fig-x img'), save the screen here",
    )
    args = parser.parse_args(argv)
    report = inspect_page(
        args.html,
        width=args.width,
        screenshot=args.screenshot,
        element=tuple(args.element) if args.element else None,
        click=(args.click[0], Path(args.click[1])) if args.click else None,
    )
    if report.clicked:
        print(f"after clicking {args.click[0]}: {report.clicked}")
    print(
        f"{report.url}: title {report.title!r}, lang {report.lang!r}, "
        f"{report.scroll_width}x{report.height}px in a {report.width}px viewport"
    )
    for path in report.screenshots:
        print(f"screenshot: {path}")
    for problem in report.problems():
        print(f"- {problem}")
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
