"""ledgerkit on Dask: the same kernels over a partitioned ledger, one partition per task.

A partitioned ledger (:func:`ledgerkit.partitioning.partition`) never splits an
encounter, so every per-encounter result is computed by the ordinary
single-machine function on one partition, in a Dask worker, and the results
are concatenated. What crosses partitions is combined exactly:

=========================  ==================================================
result                     how partitions are combined
=========================  ==================================================
``balances``, ``classify`` rows concatenated (partition order)
rule ``dry_run``           per-rule totals: integer sums; entries and hits
                           concatenated. Ages count to the whole ledger's
                           latest posting day (from the manifest), as on one
                           machine.
TAA percentiles            **exact, by gathering**: each partition sends its
(``suggest_taa``,          allowed-amount history as (configuration text,
``taa_history``, TAA       allowed) rows; one task sorts them into the global
rules, ``taa_sweep``)      per-configuration history (``global_history``);
                           every partition then reads the full history of
                           its own configurations (a second pass), so TAAs
                           are the single-machine ones, never a sketch.
sweeps                     per (level, payer) integer sums of the
                           per-partition sweeps
metrics                    integer sums per group, rates recomputed from the
                           sums; with ``carc``/``category`` in ``by`` the
                           denominators are summed per group of the other
                           dimensions; the median and p90 of
                           ``days_to_resolution`` from exact per-group
                           histograms of days (integers)
=========================  ==================================================

Every function takes ``client=`` (a ``dask.distributed.Client``); without one
it uses the current default client or starts a :func:`local_cluster`.
``progress=True`` shows a bar (``tqdm.auto``: a widget in Jupyter, text in a
terminal); ``None`` shows it only on a terminal.

Rows of concatenated results come partition by partition; grouped results are
sorted by their key columns (nulls last). Sort single-machine results the
same way to compare them.

Import this module as ``import ledgerkit.dask as lkd``; ``import ledgerkit``
alone never imports Dask.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ledgerkit.core.arrow import EPOCH, numpy_array
from ledgerkit.rules.taa import CONTRACT_FRACTION
from ledgerkit.scale.cluster import get_client, import_distributed, local_cluster
from ledgerkit.scale.metrics import METRICS, combine_metric, group_sum, part_metric
from ledgerkit.scale.partitioning import (
    PartitionedLedger,
    _prepare,
    write_generated_partition,
    write_manifest,
)
from ledgerkit.scale.taa import (
    GlobalHistory,
    history_table,
    merge_contract_amounts,
    merge_history,
    part_contract_amounts,
    part_history,
    suggest,
)

__all__ = [
    "local_cluster",
    "get_client",
    "generate",
    "balances",
    "classify",
    "class_counts",
    "dry_run",
    "DistributedDryRun",
    "global_history",
    "suggest_taa",
    "taa_history",
    "taa_sweep",
    "threshold_sweep",
    "metric",
    *METRICS,  # one function per metric, defined at the end of this module
]


def _dataset(data) -> PartitionedLedger:
    if isinstance(data, PartitionedLedger):
        return data
    if isinstance(data, str | Path):
        return PartitionedLedger(data)
    raise TypeError(
        "expected a partitioned ledger (ledgerkit.partition(...) or its folder), got "
        f"{type(data).__name__}; for a Ledger in memory call ledgerkit.partition(ledger, "
        "folder, n_partitions) first"
    )


def _run(client, fn, ds, *args, progress=None, desc="partitions"):
    """``fn(ds, p, *args)`` for every partition on the cluster; results in partition order."""
    args = [_shared(client, a) for a in args]
    futures = client.map(
        fn,
        [ds] * ds.n_partitions,
        range(ds.n_partitions),
        *[[a] * ds.n_partitions for a in args],
        pure=False,
    )
    return _wait(client, futures, progress, desc)


def _shared(client, value):
    """Large arguments go to the cluster once (a future), not once per task."""
    if isinstance(value, pa.Table) or (isinstance(value, list) and len(value) > 1000):
        return client.scatter([value], hash=False)[0]
    return value


def _wait(client, futures, progress, desc):
    from tqdm.auto import tqdm

    dist = import_distributed()
    disable = None if progress is None else not progress
    with tqdm(total=len(futures), desc=desc, unit="part", disable=disable) as bar:
        for _ in dist.as_completed(futures):
            bar.update(1)
    return client.gather(futures)


def _concat(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables) if tables else pa.table({})


def _write_part(table: pa.Table, out, p: int) -> dict:
    path = Path(out) / f"part-{p:05d}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return {"rows": table.num_rows}


# --------------------------------------------------------------------- generate
def _gen_part(ds_folder, p, n_encounters, seed):
    return write_generated_partition(ds_folder, p, n_encounters, seed)


def generate(
    folder,
    n_procedures: int,
    n_partitions: int,
    *,
    seed: int = 0,
    client=None,
    progress=None,
    overwrite: bool = False,
) -> PartitionedLedger:
    """A synthetic partitioned ledger of about ``n_procedures``, made partition by partition.

    Each task runs ``ledgerkit.synth.generate`` for its own partition (seed
    ``seed * 100003 + p``), prefixes its ids with ``P<p>-`` so they are unique
    (see :func:`ledgerkit.partitioning.relabel_partition`) and writes it: the
    whole ledger is never in memory. The number of procedures is random
    around the target (about 2.3 per encounter).
    """
    from ledgerkit.synth.ledgers import MEAN_PROCEDURES_PER_ENCOUNTER

    client = get_client(client)
    folder = _prepare(folder, overwrite)
    n_enc = int(round(n_procedures / MEAN_PROCEDURES_PER_ENCOUNTER))
    per = np.full(n_partitions, n_enc // n_partitions, np.int64)
    per[: n_enc % n_partitions] += 1
    futures = client.map(
        _gen_part,
        [str(folder)] * n_partitions,
        range(n_partitions),
        per.tolist(),
        [seed * 100_003 + p for p in range(n_partitions)],
        pure=False,
    )
    stats = _wait(client, futures, progress, "generate")
    write_manifest(folder, "generated", stats, {"seed": seed})
    return PartitionedLedger(folder)


# --------------------------------------------------------------------- per-encounter
def _part_balances(ds, p, level, policy, out):
    from ledgerkit.analytics.balances import balances as single

    table = single(ds.read(p, policy=policy), level=level)
    return table if out is None else _write_part(table, out, p)


def _part_classify(ds, p, pending, policy, out):
    from ledgerkit.analytics.classify import classify as single

    table = single(ds.read(p, policy=policy), pending=pending)
    if out is None:
        return table
    info = _write_part(table, out, p)
    counts = pc.value_counts(table["class"].cast(pa.string()))
    info["classes"] = dict(
        zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
    )
    return info


def _finish(results, out):
    if out is None:
        return _concat(results)
    return Path(out)


def balances(data, level: str = "procedure", *, policy=None, client=None, out=None, progress=None):
    """:func:`ledgerkit.balances` over every partition.

    Parameters
    ----------
    data : PartitionedLedger or its folder
    level : {"procedure", "payer", "encounter"}
    out : str or Path, optional
        Write each partition's rows to ``out/part-NNNNN.parquet`` (a Parquet
        dataset) instead of gathering them: for ledgers larger than memory.

    Returns
    -------
    pyarrow.Table, or the ``out`` folder
    """
    from ledgerkit.analytics.balances import LEVELS

    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    ds = _dataset(data)
    client = get_client(client)
    results = _run(
        client, _part_balances, ds, level, policy, out, progress=progress, desc="balances"
    )
    return _finish(results, out)


def classify(data, *, pending=None, policy=None, client=None, out=None, progress=None):
    """:func:`ledgerkit.classify` over every partition.

    With ``out``, rows go to ``out/part-NNNNN.parquet`` and the folder is
    returned; :func:`class_counts` then sums the class counts each task
    reported without reading the files.

    Returns
    -------
    pyarrow.Table, or the ``out`` folder
    """
    ds = _dataset(data)
    client = get_client(client)
    pending = None if pending is None else list(pending)
    results = _run(
        client, _part_classify, ds, pending, policy, out, progress=progress, desc="classify"
    )
    if out is not None:
        counts: dict = {}
        for r in results:
            for k, v in r["classes"].items():
                counts[k] = counts.get(k, 0) + v
        (Path(out) / "class_counts.json").write_text(json.dumps(counts, indent=1) + "\n")
    return _finish(results, out)


def class_counts(out) -> dict:
    """Encounters per class of a :func:`classify` written to ``out`` (summed by the tasks)."""
    return json.loads((Path(out) / "class_counts.json").read_text())


# --------------------------------------------------------------------- TAA history
def _history_future(client, ds, policy, progress):
    dist = import_distributed()
    parts = client.map(
        part_history,
        [ds] * ds.n_partitions,
        range(ds.n_partitions),
        [policy] * ds.n_partitions,
        pure=False,
    )
    _wait(client, parts, progress, "TAA history")
    merged = client.submit(merge_history, *parts, pure=False)
    dist.wait(merged)
    del parts
    return merged


def global_history(data, *, policy=None, client=None, progress=None) -> GlobalHistory:
    """The exact allowed history of every claim configuration, gathered from all partitions."""
    ds = _dataset(data)
    client = get_client(client)
    return _history_future(client, ds, policy, progress).result()


def suggest_taa(
    data,
    percentile: float = 50.0,
    min_claims: int = 10,
    *,
    contracts=None,
    contract_fraction: float = CONTRACT_FRACTION,
    policy=None,
    client=None,
    progress=None,
) -> pa.Table:
    """:func:`ledgerkit.taa.suggest_taa` over the whole partitioned ledger (exact).

    Rows with as many claims are ordered by configuration text. Thin
    configurations fall back to the contract rate when ``contracts`` are given
    (the latest fully priced encounter over all partitions, as on one ledger),
    then to their CPT set at any place of service. A fee schedule is only
    offered on one ledger.
    """
    from ledgerkit.contracts import Contracts, load
    from ledgerkit.rules.fee_schedule import check_contract_fraction, contract_taa
    from ledgerkit.rules.taa import check_percentile

    check_percentile(percentile, min_claims)
    check_contract_fraction(contract_fraction)
    ds = _dataset(data)
    client = get_client(client)
    history = _history_future(client, ds, policy, progress)
    contract = None
    if contracts is not None:
        if not isinstance(contracts, Contracts):
            contracts = load(contracts)
        n = ds.n_partitions
        parts = client.map(
            part_contract_amounts, [ds] * n, range(n), [policy] * n, [contracts] * n, pure=False
        )
        _wait(client, parts, progress, "contract amounts")
        rates = client.submit(merge_contract_amounts, history, *parts, pure=False).result()
        contract = contract_taa(rates, contract_fraction)
    return client.submit(
        suggest, history, percentile, int(min_claims), contract, pure=False
    ).result()


def taa_history(
    data,
    *,
    min_claims: int = 1,
    percentiles=(10, 25, 50, 75, 90),
    policy=None,
    client=None,
    progress=None,
) -> pa.Table:
    """:func:`ledgerkit.taa.taa_history` over the whole partitioned ledger (exact)."""
    from ledgerkit.rules.taa import check_percentile

    check_percentile(50, min_claims)
    for p in percentiles:
        check_percentile(p, 1)
    ds = _dataset(data)
    client = get_client(client)
    history = _history_future(client, ds, policy, progress)
    return client.submit(
        history_table, history, int(min_claims), tuple(percentiles), pure=False
    ).result()


# --------------------------------------------------------------------- rules
@dataclass
class DistributedDryRun:
    """What a rule set would do to a partitioned ledger.

    ``summary`` is :attr:`ledgerkit.rules.DryRun.summary` summed over the
    partitions; ``entries`` and ``hits`` are the partitions' tables
    concatenated (``None`` when written to ``out``: see ``out/entries`` and
    ``out/hits``).
    """

    summary: pa.Table
    entries: pa.Table | None
    hits: pa.Table | None

    def __repr__(self) -> str:
        n = int(pc.sum(self.summary["procedures"]).as_py() or 0)
        return f"DistributedDryRun({self.summary.num_rows} rules, {n} procedures hit)"


_SUMMED = (
    "procedures",
    "encounters",
    "written_off_cents",
    "to_pr_cents",
    "encounters_closed",
    "capped_procedures",
    "capped_cents",
)


def _part_dry_run(ds, p, rules, as_of, policy, taa, history, out):
    from ledgerkit import rules as R

    ledger = ds.read(p, policy=policy)
    run = R.dry_run(ledger, rules, as_of=as_of, taa=taa, history=history)
    if out is None:
        return run.summary, run.entries, run.hits
    _write_part(run.entries, Path(out) / "entries", p)
    _write_part(run.hits, Path(out) / "hits", p)
    return run.summary, None, None


def dry_run(
    data, rules=None, *, as_of=None, policy=None, taa=None, client=None, out=None, progress=None
) -> DistributedDryRun:
    """:func:`ledgerkit.rules.dry_run` over every partition, with exact global TAAs.

    ``as_of`` defaults to the whole ledger's latest posting day (as on one
    machine). TAA rules without a ``taa`` table read the global history of
    each configuration (:func:`global_history`, one extra pass).
    """
    from ledgerkit.rules.model import as_rule_set

    rules = as_rule_set(rules)
    ds = _dataset(data)
    client = get_client(client)
    as_of = as_of if as_of is not None else ds.as_of_date()
    needs_taa = taa is None and any(
        r.when.allowed_vs_taa is not None for r in rules.evaluation_order()
    )
    history = _history_future(client, ds, policy, progress) if needs_taa else None
    results = _run(
        client,
        _part_dry_run,
        ds,
        rules,
        as_of,
        policy,
        taa,
        history,
        out,
        progress=progress,
        desc="dry run",
    )
    summary = results[0][0]
    for name in _SUMMED:
        total = np.sum([numpy_array(r[0][name]) for r in results], axis=0).astype(np.int64)
        summary = summary.set_column(
            summary.schema.get_field_index(name), name, pa.array(total, pa.int64())
        )
    if out is not None:
        return DistributedDryRun(summary, None, None)
    return DistributedDryRun(
        summary, _concat([r[1] for r in results]), _concat([r[2] for r in results])
    )


# --------------------------------------------------------------------- sweeps
def _part_sweep(ds, p, kind, kwargs, policy, history):
    from ledgerkit.rules import whatif

    ledger = ds.read(p, policy=policy)
    if kind == "taa":
        return whatif.taa_sweep(ledger, **kwargs, history=history)
    return whatif.threshold_sweep(ledger, **kwargs)  # reads no TAA: no history


_SWEEP_FIGURES = ("encounters_hit", "encounters_closed", "written_off_cents", "ar_closed_cents")


def _sweep_combine(tables) -> pa.Table:
    table = group_sum(_concat(tables), ["payer_id", "level"], list(_SWEEP_FIGURES))
    table = table.select(["level", "payer_id", *_SWEEP_FIGURES])
    return table.sort_by([("payer_id", "ascending", "at_start"), ("level", "ascending")])


def taa_sweep(
    data,
    levels=None,
    *,
    mode: str = "percentile",
    percentile: float = 50.0,
    min_claims: int = 10,
    by_payer: bool = True,
    policy=None,
    client=None,
    progress=None,
) -> pa.Table:
    """:func:`ledgerkit.whatif.taa_sweep` over every partition (exact).

    Two passes: the global allowed history (TAAs need every claim of a
    configuration), then each partition's sweep with those histories; the
    figures per (level, payer) are integer sums. Rows are sorted by
    ``payer_id`` (self-pay, a null, first) then ``level``.
    """
    from ledgerkit.rules.whatif import MODES

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    ds = _dataset(data)
    client = get_client(client)
    history = _history_future(client, ds, policy, progress)
    kwargs = dict(
        levels=levels,
        mode=mode,
        percentile=percentile,
        min_claims=min_claims,
        by_payer=by_payer,
    )
    tables = _run(
        client,
        _part_sweep,
        ds,
        "taa",
        kwargs,
        policy,
        history,
        progress=progress,
        desc="TAA sweep",
    )
    return _sweep_combine(tables)


def threshold_sweep(
    data, thresholds=None, *, by_payer: bool = True, policy=None, client=None, progress=None
) -> pa.Table:
    """:func:`ledgerkit.whatif.threshold_sweep` over every partition (integer sums)."""
    ds = _dataset(data)
    client = get_client(client)
    kwargs = dict(thresholds=thresholds, by_payer=by_payer)
    tables = _run(
        client,
        _part_sweep,
        ds,
        "threshold",
        kwargs,
        policy,
        None,
        progress=progress,
        desc="threshold sweep",
    )
    return _sweep_combine(tables)


def metric(name: str, data, by="month", *, policy=None, client=None, progress=None, **kwargs):
    """One of :data:`METRICS` (``ledgerkit.metrics``) over every partition, combined exactly.

    ``aging``'s ``today`` defaults to the whole ledger's latest posting day.
    Rows are sorted by the ``by`` columns (nulls last).
    """
    if name not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {name!r}")
    from ledgerkit.analytics.facts import parse_by

    parse_by(by)
    ds = _dataset(data)
    client = get_client(client)
    if name == "aging" and kwargs.get("today") is None:
        day = ds.manifest.get("latest_posted_day")
        if day is not None:
            kwargs["today"] = EPOCH + dt.timedelta(days=int(day))
    results = _run(client, part_metric, ds, name, by, kwargs, policy, progress=progress, desc=name)
    return combine_metric(name, by, results)


def _metric_function(name: str):
    def fn(data, by=_DEFAULT_BY[name], *, policy=None, client=None, progress=None, **kwargs):
        return metric(name, data, by, policy=policy, client=client, progress=progress, **kwargs)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = (
        f"``ledgerkit.metrics.{name}`` over a partitioned ledger, combined exactly "
        "(see :func:`metric`)."
    )
    return fn


_DEFAULT_BY = {
    "initial_denial_rate": "month",
    "avoidable_denial_rate": "month",
    "denial_dollars": ("payer", "carc"),
    "overturn_rate": "payer",
    "days_to_resolution": "payer",
    "open_denial_dollars": "payer",
    "aging": "payer",
}
initial_denial_rate = _metric_function("initial_denial_rate")
avoidable_denial_rate = _metric_function("avoidable_denial_rate")
denial_dollars = _metric_function("denial_dollars")
overturn_rate = _metric_function("overturn_rate")
days_to_resolution = _metric_function("days_to_resolution")
open_denial_dollars = _metric_function("open_denial_dollars")
aging = _metric_function("aging")
