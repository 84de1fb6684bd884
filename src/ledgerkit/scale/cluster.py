"""Dask clusters for ledgerkit: a local cluster with Numba's threads matched, and the
client every ``ledgerkit.dask`` function uses when none is given.
"""

from __future__ import annotations

import atexit
import importlib
import os

__all__ = ["local_cluster", "get_client"]

# The local cluster and client get_client started (closed when Python exits).
_DEFAULT = {}


def import_distributed():
    """The ``dask.distributed`` module, imported on first use.

    Returns
    -------
    module

    Raises
    ------
    ImportError
        When dask.distributed is not installed (the message says how to install it).
    """
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "ledgerkit.dask needs dask.distributed: pip install 'ledgerkit[dask]'"
        ) from exc


def local_cluster(n_workers: int = 2, threads_per_worker: int = 1, memory_limit="auto", **kwargs):
    """A ``dask.distributed.LocalCluster`` of processes, with Numba's threads matched.

    Dask's nanny limits OpenMP/MKL threads but not ``NUMBA_NUM_THREADS``; each
    worker gets ``NUMBA_NUM_THREADS = threads_per_worker`` so parallel kernels
    do not oversubscribe the cores. Use it as a context manager::

        with lkd.local_cluster(2, memory_limit="3GiB") as cluster, Client(cluster) as client:
            lkd.classify(folder, client=client)

    Parameters
    ----------
    n_workers, threads_per_worker : int
    memory_limit : str or int
        Per worker (``"3GiB"``); Dask spills, pauses and finally restarts a
        worker that goes over it.
    **kwargs
        Passed to ``LocalCluster`` (``dashboard_address``, ``local_directory``...).
    """
    dist = import_distributed()
    env = dict(kwargs.pop("env", None) or {})
    env.setdefault("NUMBA_NUM_THREADS", str(int(threads_per_worker)))
    kwargs.setdefault("dashboard_address", ":0")  # never clash with a running dashboard
    return dist.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        memory_limit=memory_limit,
        env=env,
        **kwargs,
    )


def get_client(client=None):
    """``client``, else the current default Dask client, else one on a new local cluster.

    The local cluster started here (one worker per core, one thread each) is
    kept for later calls and closed when Python exits.
    """
    if client is not None:
        return client
    dist = import_distributed()
    try:
        return dist.default_client()
    except ValueError:
        pass
    if "client" not in _DEFAULT:
        cluster = local_cluster(n_workers=max(1, os.cpu_count() or 1))
        _DEFAULT["cluster"] = cluster
        _DEFAULT["client"] = dist.Client(cluster)
        atexit.register(_close_default)
    return _DEFAULT["client"]


def _close_default():  # pragma: no cover - runs at interpreter exit
    client = _DEFAULT.pop("client", None)
    cluster = _DEFAULT.pop("cluster", None)
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()
