"""TEST HOOK for fault injection: die by ``SIGKILL`` at a named point of a build.

The fault-injection tests (``tests/test_faults.py``, ``benchmarks/soak.py``) prove that
a build killed anywhere loses nothing and leaves nothing half-written that a later
build would read. To stop a build *exactly* at one moment, the code calls
:func:`crash_point` at the moments that matter; it does nothing unless the environment
variable ``CIFAR_REPORT_TEST_CRASH_AT`` names that point:

* ``POINT`` — the first time this process passes ``POINT``;
* ``POINT@N`` — the N-th time;
* a point with a detail (``store.write:model.keras``) matches ``store.write`` too.

Then the whole build dies at once, as on a power cut: its process group (the build and
its training workers) and the process that passed the point (a notebook kernel runs
in a session of its own) get ``SIGKILL``. The build's process group is recorded in
``CIFAR_REPORT_TEST_CRASH_GROUP`` when this module is first imported with the hook
set, and inherited by every child. Start such a build in a session of its own
(``subprocess.Popen(..., start_new_session=True)``) so that the test runner survives.

The points (``crash_point`` calls, by module):

=================================  ===================================================
``build.locked``                   orchestrate/build.py: the project lock is held
``build.trained``                  orchestrate/build.py: every missing run is stored
``build.variables``                orchestrate/build.py: before ``_variables.yml``
``train.start``                    runs/train.py: the key's lock is held, before fit
``train.epoch``                    runs/train.py: an epoch ended and was backed up
``train.evaluated``                runs/train.py: fitted and scored, nothing written
``store.write:<file>``             runs/store.py: that run file is in the temp dir
``store.manifest``                 runs/store.py: manifest written, not yet renamed
``store.renamed``                  runs/store.py: the run is in place
``store.set_aside``                runs/store.py: a damaged run's reason is written,
                                   the run not yet moved
``chapter.start:<name>``           orchestrate/notebooks.py: before the kernel starts
``chapter.cell:<name>``            orchestrate/notebooks.py: after each executed cell
``chapter.executed:<name>``        orchestrate/notebooks.py: before the notebook is
                                   moved into place
``chapter.replaced:<name>``        orchestrate/build.py: notebook in place, no record
``render.start``                   orchestrate/build.py: before the renderer runs
``render.written``                 orchestrate/build.py: rendered, stamp not written
=================================  ===================================================

>>> crash_point("store.manifest")  # the hook is not set: nothing happens
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections import Counter

CRASH_ENV = "CIFAR_REPORT_TEST_CRASH_AT"
GROUP_ENV = "CIFAR_REPORT_TEST_CRASH_GROUP"
POINTS = (
    "build.locked",
    "build.trained",
    "build.variables",
    "train.start",
    "train.epoch",
    "train.evaluated",
    "store.write:config.json",
    "store.write:metrics.json",
    "store.write:history.csv",
    "store.write:predictions.npz",
    "store.write:model.keras",
    "store.manifest",
    "store.renamed",
    "store.set_aside",
    "chapter.start:{chapter}",
    "chapter.cell:{chapter}",
    "chapter.executed:{chapter}",
    "chapter.replaced:{chapter}",
    "render.start",
    "render.written",
)
"""Every named point of the table above (``{chapter}``: a chapter's name), for the soak."""

_passed: Counter[str] = Counter()

if os.environ.get(CRASH_ENV):
    os.environ.setdefault(GROUP_ENV, str(os.getpgrp()))


def crash_point(point: str, detail: str = "") -> None:
    """``SIGKILL`` the build here if ``CIFAR_REPORT_TEST_CRASH_AT`` names this point
    (see the module docstring); otherwise nothing."""
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    target, _, nth = spec.partition("@")
    if target not in (point, f"{point}:{detail}"):
        return
    _passed[target] += 1
    if _passed[target] >= int(nth or 1):
        with contextlib.suppress(OSError):
            os.killpg(int(os.environ.get(GROUP_ENV) or os.getpgrp()), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
