"""Train missing runs on a Ray cluster; the driver writes them into the run store.

:func:`train_runs_ray` sends each run that the store lacks to a Ray cluster as one task
and writes what comes back into the store exactly as local training does: under the
key's lock, through :meth:`RunStore.atomic_write`, after checking every file against the
checksums the worker computed. Workers need no shared filesystem:

* the dataset travels once, through Ray's object store (``ray.put``);
* a task trains through :func:`cifar_core.runs.train.get_or_train` into a private
  temporary run store on its node (the same fit, files and manifest as a local run), and
  returns the run's files as bytes, then deletes its temporary directory.

Resources: a task asks for ``cpus_per_task`` CPUs (default 1: small Keras models use a
core best one process each, see :mod:`cifar_core.runs.executors.local`) and, when the cluster has
GPUs, one GPU (``gpus_per_task``); a GPU task runs in a fresh worker process, so that
TensorFlow sees only the GPU Ray gave it. The most expensive runs start first (their estimated
time on an accelerator, :mod:`cifar_core.runs.compute_plan`), which keeps the longest run
from starting last.

Failures: a task whose worker or node dies is retried by Ray (``max_retries``); an
error raised by training itself is not retried. The other runs go on; the runs that
failed are named in one :class:`RayExecutorError` at the end. A run is written only
whole (atomic rename after verification), so an interrupted build leaves complete runs
or nothing. Ctrl-C cancels every task still queued or running on the cluster
(``ray.cancel(force=True)``), releases the locks and re-raises ``KeyboardInterrupt``.

Connecting: ``address=None`` uses ``$RAY_ADDRESS`` or starts Ray on this machine;
``"auto"`` joins the cluster this machine is a node of; ``"host:6379"`` (a head node's
GCS) or ``"ray://host:10001"`` (Ray Client, from outside the cluster) joins a remote
cluster. An address whose port does not answer within ``connect_timeout_s`` (or answers,
but not as a Ray gRPC server: :func:`check_reachable`) is refused before anything is
trained. If this process is already connected to Ray
(``ray.is_initialized()``), that connection is used and left open.

Code on the workers: the nodes need the project's dependencies (TensorFlow/Keras, ...)
and the driver's Ray and Python versions. The project itself is either installed on
every node (same version as the driver) or shipped from the driver with
``ship_code=True`` (Ray uploads this ``cifar_core`` package as a ``py_modules`` runtime
environment, about 0.5 MB). A cluster that cannot import ``cifar_core`` stops the build
with a message saying so; a worker whose training code computes another run key than
the driver's is refused, with that explanation.

Example
-------
>>> train_runs_ray(variants, dataset, RunStore("runs"),
...                address="ray://head:10001")   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import TYPE_CHECKING, Any

import cifar_core
from cifar_core.data.dataset import Dataset
from cifar_core.experiments.variant import Variant
from cifar_core.project import Log
from cifar_core.runs.compute_plan import plan_runs
from cifar_core.runs.hardware import worker_environment
from cifar_core.runs.keys import run_key
from cifar_core.runs.manifest import manifest_checksums
from cifar_core.runs.store import MANIFEST, RUN_FILES, Run, RunStore

if TYPE_CHECKING:
    from ray import ObjectRef

INSTALL_HINT = 'pip install -e ".[ray]"'
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_MAX_RETRIES = 3
GCS_PORT, CLIENT_PORT = 6379, 10001
HEALTH_CHECK = "/grpc.health.v1.Health/Check"  # the standard gRPC health-checking protocol
_WAIT_S = 1.0  # ray.wait slices, so that Ctrl-C is seen promptly


class RayExecutorError(RuntimeError):
    """A Ray build cannot start (no Ray, no cluster) or some of its runs failed."""


class RayNotInstalledError(RayExecutorError, ImportError):
    """Ray is not installed; the message names the install command."""


def import_ray() -> ModuleType:
    """The ``ray`` module, or :class:`RayNotInstalledError` naming ``pip install -e ".[ray]"``."""
    try:
        import ray  # an optional extra: imported only when asked for
    except ImportError as error:
        raise RayNotInstalledError(
            f"the Ray executor needs Ray, which is not installed: run {INSTALL_HINT} in the "
            "project (or pip install 'ray[default]>=2.9')"
        ) from error
    return ray


# ---------------------------------------------------------------------- connecting
def parse_address(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``host[:port]`` or ``ray://host[:port]`` address; ``None``
    for ``auto``/``local`` (Ray finds those itself).

    >>> parse_address("ray://head.example:10001"), parse_address("10.0.0.5")
    (('head.example', 10001), ('10.0.0.5', 6379))
    """
    text = address.strip()
    if text in ("auto", "local"):
        return None
    client = text.startswith("ray://")
    rest = text[len("ray://") :] if client else text
    host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    host = host.strip("[]")
    if not host or (port and not port.isdigit()) or "/" in rest:
        raise RayExecutorError(
            f"--address {address!r} is not a Ray address; give host:port "
            "(a head node, default port 6379), ray://host:port (Ray Client, "
            "default port 10001) or auto"
        )
    return host, int(port) if port else (CLIENT_PORT if client else GCS_PORT)


def check_reachable(address: str, timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`RayExecutorError` unless a Ray head node (GCS) or Ray Client server
    answers at ``address`` within about ``timeout_s`` seconds: a TCP connection first,
    then gRPC (:func:`_check_speaks_ray`). ``ray.init`` itself waits a minute or more on
    an address that does not answer, and Ray has no public call that probes an address
    with a time limit."""
    target = parse_address(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout_s):
            pass
    except OSError as error:
        reason = (
            "timed out" if isinstance(error, TimeoutError) else str(error) or type(error).__name__
        )
        raise RayExecutorError(
            f"no Ray cluster answers at {address} ({target[0]}:{target[1]}: {reason} within "
            f"{timeout_s:g} s); start one (`ray start --head`) or check --address; nothing "
            "was trained"
        ) from None
    _check_speaks_ray(address, target, timeout_s)


def _check_speaks_ray(address: str, target: tuple[str, int], timeout_s: float) -> None:
    """Refuse a port that is not a Ray gRPC server, with gRPC's public API only.

    A Ray Client server (``ray://``) must complete gRPC's connection handshake (what
    Ray Client itself waits for before its first call); a head node's GCS must also
    answer the standard gRPC health check (``grpc.health.v1.Health/Check``, which Ray's
    gRPC servers serve; an empty request asks about the whole server), which the Ray
    Client port, a dashboard or any non-gRPC server does not."""
    try:
        import grpc  # installed with Ray's default/client extras
    except ImportError:  # without them, the TCP check must do
        return
    client = address.strip().startswith("ray://")
    kind = "Ray Client server" if client else "Ray head node (GCS)"
    with grpc.insecure_channel(f"{target[0]}:{target[1]}") as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout_s)
            if not client:
                channel.unary_unary(HEALTH_CHECK)(b"", timeout=timeout_s)
        except grpc.FutureTimeoutError:
            reason = f"no gRPC handshake within {timeout_s:g} s"
        except grpc.RpcError as error:
            reason = f"{error.code().name}: {(error.details() or '').strip()[:120]}"
        else:
            return
    raise RayExecutorError(
        f"{address} accepts connections but no {kind} answers there ({reason}); check "
        f"--address (a head node listens on port {GCS_PORT}, Ray Client on "
        f"ray://host:{CLIENT_PORT}); nothing was trained"
    )


@contextlib.contextmanager
def connected(
    ray: ModuleType,
    address: str | None,
    *,
    connect_timeout_s: float,
    runtime_env: dict | None = None,
) -> Iterator[bool]:
    """Connect to Ray for the duration of the block (unless already connected)."""
    if ray.is_initialized():
        if runtime_env:
            raise RayExecutorError(
                "this process is already connected to Ray, so a runtime environment (or "
                "ship_code) cannot apply: Ray takes uploaded code only when it connects; "
                "call ray.shutdown() first or install cifar-report on the nodes"
            )
        yield False
        return
    if address is not None:
        check_reachable(address, connect_timeout_s)
    try:
        ray.init(
            address=address, runtime_env=runtime_env, log_to_driver=False, logging_level="warning"
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise RayExecutorError(
            f"could not connect to the Ray cluster at {address or 'local'}: "
            f"{error}; nothing was trained"
        ) from error
    try:
        yield True
    finally:
        ray.shutdown()


# ---------------------------------------------------------------------- the driver
def train_runs_ray(
    variants: Sequence[Variant],
    dataset: Dataset,
    store: RunStore,
    *,
    address: str | None = None,
    log: Log = print,
    max_retries: int = DEFAULT_MAX_RETRIES,
    cpus_per_task: float = 1,
    gpus_per_task: float | None = None,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    runtime_env: dict | None = None,
    ship_code: bool = False,
    on_done: Callable[[Run], object] | None = None,
) -> list[Run]:
    """The runs of ``variants``, in order: reused from ``store``, or trained on a Ray
    cluster and written into ``store`` by this process only (``log`` gets one line per
    event; ``on_done(run)`` is called after each). ``address``, ``max_retries``,
    ``connect_timeout_s`` and ``ship_code`` are as the module docstring says. A task
    reserves ``cpus_per_task`` CPUs (also its TensorFlow thread count) and
    ``gpus_per_task`` GPUs (default: 1 when the cluster has a GPU, else 0).
    ``runtime_env`` is the job's Ray runtime environment (e.g. ``{"env_vars": {...}}``),
    passed to ``ray.init``; it is refused when this process is already connected to Ray.
    """
    ray = import_ray()
    if not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
    if not cpus_per_task > 0:
        raise ValueError(f"cpus_per_task must be > 0, got {cpus_per_task!r}")
    keys = [run_key(v, dataset.fingerprint) for v in variants]
    missing: dict[str, Variant] = {}
    for key, variant in zip(keys, variants):
        if key not in missing and store.get(key) is None:
            missing[key] = variant
    reused = len(set(keys)) - len(missing)
    if not missing:
        log(f"ray: all {reused} run(s) are in the store; nothing to train")
        return [_stored(store, key) for key in keys]
    if address is not None:
        check_reachable(address, connect_timeout_s)
    from cifar_core.runs.train import validate_variant  # imports Keras: only with work to do

    for variant in missing.values():
        validate_variant(variant)
    order = _most_expensive_first(missing, dataset)
    if ship_code:
        runtime_env = with_shipped_code(runtime_env)
    with connected(ray, address, connect_timeout_s=connect_timeout_s, runtime_env=runtime_env):
        _train_missing(
            ray,
            order,
            missing,
            dataset,
            store,
            reused=reused,
            log=log,
            max_retries=max_retries,
            cpus=cpus_per_task,
            gpus=gpus_per_task,
            on_done=on_done,
        )
    return [_stored(store, key) for key in keys]


def _train_missing(
    ray: ModuleType,
    order: list[str],
    missing: dict[str, Variant],
    dataset: Dataset,
    store: RunStore,
    *,
    reused: int,
    log: Log,
    max_retries: int,
    cpus: float,
    gpus: float | None,
    on_done: Callable[[Run], object] | None = None,
) -> None:
    resources = ray.cluster_resources()
    if gpus is None:
        gpus = 1 if resources.get("GPU", 0) >= 1 else 0
    if resources.get("CPU", 0) < cpus or resources.get("GPU", 0) < gpus:
        raise RayExecutorError(
            f"the Ray cluster has {resources.get('CPU', 0):g} CPU(s) and "
            f"{resources.get('GPU', 0):g} GPU(s); a task needs {cpus:g} CPU(s) and "
            f"{gpus:g} GPU(s) (lower cpus_per_task/gpus_per_task); nothing was trained"
        )
    log(
        f"ray: {reused} run(s) reused, {len(order)} to train on a cluster of "
        f"{resources.get('CPU', 0):g} CPU(s), {resources.get('GPU', 0):g} GPU(s); each task "
        f"takes {cpus:g} CPU(s), {gpus:g} GPU(s), up to {max_retries} retries"
    )
    # A GPU run gets a fresh worker process (max_calls=1): TensorFlow binds to the GPUs
    # visible when it starts, and Ray assigns each task its GPU through CUDA_VISIBLE_DEVICES.
    task = ray.remote(
        num_cpus=cpus,
        num_gpus=gpus,
        max_retries=max_retries,
        retry_exceptions=False,
        max_calls=1 if gpus else 0,
    )(_train_task)
    locks: dict[str, contextlib.ExitStack] = {}
    pending: dict[ObjectRef, str] = {}
    failures: dict[str, str] = {}
    try:
        try:  # with Ray Client the server unpickles the dataset and the task at once
            dataset_ref = ray.put(dataset)
            for key in order:
                locks[key] = contextlib.ExitStack()
                locks[key].enter_context(store.lock(key, log=log))
                if store.get(key, warn=False) is not None:  # trained by another process
                    locks.pop(key).close()
                    continue
                variant = missing[key]
                ref = task.options(name=f"cifar-report {variant.name}").remote(
                    variant.to_dict(), dataset_ref, key, worker_environment(max(1, int(cpus)))
                )
                pending[ref] = key
        except ImportError as error:
            raise _code_error(_missing_code(error) or str(error)) from error
        total, done = len(pending), 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=_WAIT_S)
            for ref in ready:
                key, done = pending.pop(ref), done + 1
                try:
                    result = ray.get(ref)
                    run = write_run_files(store, key, result["files"])
                except (ray.exceptions.RayError, RunTransferError, ImportError) as error:
                    if (module := _missing_code(error)) is not None:
                        raise _code_error(module) from error
                    failures[key] = _short(error)
                    log(f"[{done}/{total}] FAILED {missing[key].name} [{key}]: {failures[key]}")
                else:
                    for line in result["log"]:
                        log(f"  ({result['node']}) {line}")
                    log(
                        f"[{done}/{total}] stored {missing[key].name} [{key}] from {result['node']}"
                    )
                    if on_done is not None:
                        on_done(run)
                finally:
                    locks.pop(key).close()
    except BaseException as error:  # Ctrl-C or a failure of the driver: nothing may keep running
        for ref in pending:
            ray.cancel(ref, force=True)
        if isinstance(error, KeyboardInterrupt):
            log(
                f"ray: interrupted; cancelled {len(pending)} task(s) on the cluster; the store "
                "holds only complete runs"
            )
        raise
    finally:
        for stack in locks.values():
            stack.close()
    if failures:
        raise RayExecutorError(
            f"{len(failures)} of {total} run(s) failed on the Ray cluster (the others are "
            "stored): " + "; ".join(f"{missing[k].name} [{k}]: {e}" for k, e in failures.items())
        )


def with_shipped_code(runtime_env: dict | None) -> dict:
    """``runtime_env`` plus this process's ``cifar_core`` package in ``py_modules``."""
    env = dict(runtime_env or {})
    env["py_modules"] = [*env.get("py_modules", []), str(Path(cifar_core.__file__).parent)]
    return env


def _missing_code(error: BaseException) -> str | None:
    """The name of the module a cluster could not import, if that is what ``error`` is."""
    cause = getattr(error, "cause", error)
    if isinstance(cause, ImportError) and "cifar_core" in str(cause):
        return getattr(cause, "name", None) or str(cause)
    return None


def _code_error(module: str) -> RayExecutorError:
    return RayExecutorError(
        f"the Ray cluster cannot import {module}: install this version of cifar-report on "
        "every node, or let the driver ship it (ship_code=True; on the command line "
        "--ray-ship-code); nothing more was trained"
    )


def _most_expensive_first(missing: dict[str, Variant], dataset: Dataset) -> list[str]:
    """Run keys ordered by their estimated accelerator time, longest first."""
    plan = plan_runs(list(missing.values()), dataset=dataset, speed=None)
    seconds = plan.runs["seconds_accelerator"].tolist()
    return [key for _, key in sorted(zip(seconds, missing), key=lambda pair: -pair[0])]


def _stored(store: RunStore, key: str) -> Run:
    run = store.get(key)
    if run is None:
        raise RayExecutorError(
            f"run {key} is not in {store.root} after the Ray build; run "
            "the command again to train it"
        )
    return run


def _short(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1] if lines else ''}"


# ---------------------------------------------------------------------- the files
class RunTransferError(RuntimeError):
    """The files a worker returned do not match its manifest."""


def write_run_files(store: RunStore, key: str, files: dict[str, bytes]) -> Run:
    """Write a run's files (as returned by a worker) into ``store`` atomically, checking
    each against the worker's ``manifest.json``; the caller holds the key's lock.

    Returns the stored run; raises :class:`RunTransferError` (nothing written) when a
    file is missing, extra, outside the run directory or differs from its checksum.
    """
    try:
        listed = manifest_checksums(files[MANIFEST])
    except (KeyError, ValueError, TypeError) as error:
        raise RunTransferError(f"run {key}: the worker sent no readable {MANIFEST}") from error
    names = set(files) - {MANIFEST}
    if names != set(listed) or not set(RUN_FILES) <= names:
        raise RunTransferError(
            f"run {key}: files {sorted(names)} do not match the manifest {sorted(listed)}"
        )
    for name in names:
        parts = PurePosixPath(name).parts
        if PurePosixPath(name).is_absolute() or ".." in parts:
            raise RunTransferError(f"run {key}: refusing file name {name!r}")
    with store.atomic_write(key) as directory:
        for name in sorted(names):
            if hashlib.sha256(files[name]).hexdigest() != listed[name]:
                raise RunTransferError(f"run {key}: {name} does not match its checksum")
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[name])
    run = store.get(key)
    if run is None:
        raise RunTransferError(f"run {key} was written but does not verify in {store.root}")
    return run


def run_files(directory: Path) -> dict[str, bytes]:
    """Every file of a run directory, by its relative POSIX path."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------------- the worker
SCRATCH_PREFIX = "cifar-report-ray-"  # + host name + "-" + pid + "-" + mkdtemp's suffix


def scratch_prefix(pid: int | None = None) -> str:
    """The name a task's scratch store starts with: this machine and the worker's pid
    (two containers sharing a temporary folder have different host names)."""
    return f"{_this_machine()}{os.getpid() if pid is None else pid}-"


def _this_machine() -> str:
    return f"{SCRATCH_PREFIX}{socket.gethostname()}-"


def remove_dead_scratch(folder: Path) -> list[Path]:
    """Remove the scratch stores that tasks of processes of this machine no longer alive
    left in ``folder`` (a worker killed mid-task never reaches its ``finally``); return
    them.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> dead = folder / f"{scratch_prefix(999999999)}x"  # above any pid Linux gives
    >>> alive = folder / f"{scratch_prefix()}y"
    >>> elsewhere = folder / f"{SCRATCH_PREFIX}another-host-999999999-z"
    >>> for path in (dead, alive, elsewhere):
    ...     path.mkdir()
    >>> [p.name for p in remove_dead_scratch(folder)] == [dead.name]
    True
    >>> alive.exists(), elsewhere.exists()
    (True, True)
    """
    removed = []
    mine = _this_machine()
    for path in sorted(folder.glob(f"{SCRATCH_PREFIX}*")):
        pid = path.name.removeprefix(mine).partition("-")[0]
        if not path.name.startswith(mine) or not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # none, or a number no process can have
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _train_task(
    variant_config: dict[str, Any], dataset: Dataset, key: str, environment: dict[str, str]
) -> dict[str, Any]:
    """Ray task: train the variant into a temporary run store on this node and return
    its files, the log lines and the node's address. ``environment``: the driver's
    :func:`~cifar_core.runs.hardware.worker_environment` (thread limits, effective when
    this worker first imports the backend, and the driver's backend and precision)."""
    os.environ.update(environment)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    import ray  # the optional extra, present on every worker

    from cifar_core.runs.train import get_or_train  # Keras, after the thread limits

    lines: list[str] = []
    remove_dead_scratch(Path(tempfile.gettempdir()))
    scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix()))
    started = time.perf_counter()
    try:
        run = get_or_train(
            Variant.from_dict(variant_config),
            dataset,
            RunStore(scratch / "runs"),
            verbose=0,
            log=lines.append,
        )
        if run.key != key:
            raise RuntimeError(
                f"this worker's cifar-report computes run key {run.key}, the driver {key}: "
                "install the driver's version of cifar-report on every node"
            )
        return {
            "files": run_files(run.path),
            "log": lines,
            "node": f"{ray.util.get_node_ip_address()} pid {os.getpid()}",
            "seconds": time.perf_counter() - started,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
