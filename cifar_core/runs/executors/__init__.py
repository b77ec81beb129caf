"""Who trains the missing runs: worker processes on this machine (the default) or a Ray
cluster. Both write through the run store's locks and atomic writes, so the store only
ever holds complete runs.

>>> LocalExecutor(jobs=2).describe(), RayExecutor(address="ray://head:10001").describe()
('local, 2 job(s)', 'Ray cluster at ray://head:10001')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cifar_core.data.dataset import Dataset
from cifar_core.experiments.variant import Variant
from cifar_core.project import Log
from cifar_core.runs.executors.local import train_runs
from cifar_core.runs.executors.ray_executor import check_reachable, train_runs_ray
from cifar_core.runs.store import Run, RunStore


@dataclass(frozen=True)
class LocalExecutor:
    """``jobs`` spawned worker processes (``"auto"``: 1 on a GPU, up to 4 on a CPU);
    ``verbose`` is Keras's fit verbosity when training in this process."""

    jobs: int | str = "auto"
    verbose: int = 0

    def describe(self) -> str:
        return f"local, {self.jobs} job(s)"

    def check(self) -> None:
        """Nothing to check: this machine is always there."""

    def train(
        self,
        variants: Sequence[Variant],
        dataset: Dataset,
        store: RunStore,
        *,
        log: Log = print,
        on_done: Callable[[Run], object] | None = None,
    ) -> list[Run]:
        return train_runs(
            variants, dataset, store, jobs=self.jobs, verbose=self.verbose, log=log, on_done=on_done
        )


@dataclass(frozen=True)
class RayExecutor:
    """Tasks on the Ray cluster at ``address`` (``None``: ``$RAY_ADDRESS`` or a local
    Ray); ``ship_code`` uploads this ``cifar_core`` to the workers."""

    address: str | None = None
    ship_code: bool = False

    def describe(self) -> str:
        return f"Ray cluster at {self.address or '$RAY_ADDRESS or a local Ray'}"

    def check(self) -> None:
        """Raise :class:`RayExecutorError` within seconds when no cluster answers at the
        address (before the store is touched or anything trains)."""
        if self.address is not None:
            check_reachable(self.address)

    def train(
        self,
        variants: Sequence[Variant],
        dataset: Dataset,
        store: RunStore,
        *,
        log: Log = print,
        on_done: Callable[[Run], object] | None = None,
    ) -> list[Run]:
        return train_runs_ray(
            variants,
            dataset,
            store,
            address=self.address,
            log=log,
            ship_code=self.ship_code,
            on_done=on_done,
        )
