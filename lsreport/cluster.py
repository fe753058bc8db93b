"""The sweep on a Ray cluster: one task per variant, one shared artifact store.

``lsreport sweep --ray [ADDRESS]`` (or ``run_sweep(..., ray_address=...)``)
hands every variant that is not cached yet to `Ray <https://docs.ray.io>`_
as a task (:func:`run_on_ray` with one :class:`ClusterJob` per variant);
each task runs :func:`lsreport.experiments.run_variant` and writes its
artifact into the same store, which must therefore lie on a path
every node sees (a shared file system). The artifact store writes
atomically, so a variant is either complete or absent: an interrupted sweep
resumes with the variants still missing. When every task is done the sweep
collects the summaries in-process exactly as the sequential sweep does
(every variant is then a cache hit), so the table is the same; only the
``seconds`` column, the wall time of each variant's own run, differs from
run to run.

Each task asks for one GPU where the cluster has GPUs and one CPU
otherwise. Ray is an optional extra (``pip install -e '.[cluster]'``);
without it the sweep runs in-process as before, and asking for Ray says how
to install it.

``ADDRESS`` is what :func:`ray.init` takes: ``"auto"`` (a cluster started on
this machine with ``ray start --head``), ``"ray://host:10001"``, or
``"local"`` (a new single-machine cluster for this run, stopped at its end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["RAY_HINT", "ClusterJob", "RayOutcome", "ray_available", "run_on_ray"]

#: How to get Ray, for error messages.
RAY_HINT = "install the optional extra: pip install -e '.[cluster]' (or pip install ray)"


def ray_available() -> bool:
    """Whether :mod:`ray` can be imported."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class ClusterJob:
    """One cached computation to run as a Ray task.

    Attributes
    ----------
    name : str
        For progress lines and :class:`RayOutcome`.
    step, key : str
        Where its artifact lands in the store; a job whose artifact exists
        is not run (that is how an interrupted sweep resumes).
    fn : callable
        ``fn(*args, store)`` computes and stores the artifact on a worker
        (an importable module-level function, so that Ray can send it).
    args : tuple
        Its arguments before the store (pickled to the worker).
    skip : tuple of exception types
        Errors that mean "cannot run here" (e.g. missing data): reported in
        :attr:`RayOutcome.skipped`, not raised.
    """

    name: str
    step: str
    key: str
    fn: Callable
    args: tuple = ()
    skip: tuple = field(default=())


@dataclass(frozen=True)
class RayOutcome:
    """What the cluster did.

    Attributes
    ----------
    submitted : list of str
        Jobs that ran as Ray tasks (not cached before).
    cached : list of str
        Jobs found in the store, not run again.
    skipped : dict
        Job name -> reason, for jobs that raised one of their ``skip`` errors.
    resources : dict
        What each task asked for (``{"num_gpus": 1, "num_cpus": 1}`` or
        ``{"num_cpus": 1}``); empty when nothing ran.
    """

    submitted: list
    cached: list
    skipped: dict
    resources: dict


def _task_resources(cluster: dict) -> dict:
    return {"num_gpus": 1, "num_cpus": 1} if cluster.get("GPU", 0) >= 1 else {"num_cpus": 1}


def _run_job(fn, args, skip, root: str) -> str:
    # runs on a Ray worker, writing into the shared store
    from .artifacts import ArtifactStore

    try:
        fn(*args, ArtifactStore(root))
    except skip as exc:
        return f"skipped: {exc}"
    return "done"


def run_on_ray(jobs: list[ClusterJob], store, *, address: str | None = "auto",
               progress: bool = True) -> RayOutcome:
    """Run the jobs whose artifacts are not in ``store`` as Ray tasks; wait for all.

    Parameters
    ----------
    jobs : list of ClusterJob
        E.g. one per sweep variant (:func:`lsreport.experiments.run_sweep`).
    store : ArtifactStore
        The shared store; its root must be reachable under the same path on
        every node.
    address : str or None, default "auto"
        Passed to :func:`ray.init`; ``"local"`` or ``None`` starts a private
        single-machine cluster for this call and stops it at the end. If Ray
        is already initialised in this process, that cluster is used.
    progress : bool
        Print one line per finished job.

    Returns
    -------
    RayOutcome

    Raises
    ------
    ImportError
        When Ray is not installed (the message says how to install it).
    ValueError
        When the store is read-only.
    """
    try:
        import ray
    except ImportError as exc:
        raise ImportError(f"lsreport sweep --ray needs Ray; {RAY_HINT}") from exc

    if store.read_only:
        raise ValueError("the sweep on Ray writes artifacts; the store is read-only")
    todo = [j for j in jobs if not store.exists(j.step, j.key)]
    cached = [j.name for j in jobs if j not in todo]
    if not todo:
        return RayOutcome([], cached, {}, {})

    started = False
    if not ray.is_initialized():
        local = address in (None, "local")
        ray.init(address=None if local else address, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        resources = _task_resources(ray.cluster_resources())
        task = ray.remote(**resources)(_run_job)
        root = str(store.root.resolve())
        names = {}
        for j in todo:
            names[task.remote(j.fn, j.args, tuple(j.skip), root)] = j.name
        pending, skipped = list(names), {}
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            status = ray.get(ready[0])
            name = names[ready[0]]
            if status != "done":
                skipped[name] = status
            if progress:
                print(f"ray: {name}: {status} ({len(todo) - len(pending)}/{len(todo)})", flush=True)
    finally:
        if started:
            ray.shutdown()
    return RayOutcome([j.name for j in todo], cached, skipped, resources)
