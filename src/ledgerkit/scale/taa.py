"""Exact TAA percentiles over a partitioned ledger: the gathered global history.

Each partition sends its clean allowed-amount history as (configuration text,
allowed) rows, and the text of every configuration it has (those without
history too); :func:`merge_history` sorts them into one per-configuration
history and one per CPT set at any place of service (the fallback of
``ledgerkit.rules.taa``), the :class:`GlobalHistory`. Each partition's TAA rules and sweeps get it
as their ``history=`` argument (``ledgerkit.rules.taa.with_history`` reads it),
so they compute the single-machine values. Used by :mod:`ledgerkit.dask`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.arrow import numpy_array
from ledgerkit.rules.taa import (
    ALLOWED_BITS,
    TAA_SOURCES,
    Configurations,
    group_label,
    history_percentiles,
)


@dataclass
class GlobalHistory:
    """Every configuration's allowed history over the whole ledger, sorted.

    ``labels`` (configuration text, sorted), ``start`` (offsets,
    ``len(labels) + 1``) and ``values`` (int64 cents, sorted within each
    configuration): the single-machine ``Configurations`` arrays, keyed by
    configuration text instead of per-ledger ids. Derived from them:
    ``group_labels`` (``payer|items``, sorted), ``group_start`` and
    ``group_values``, the same per CPT set at any place of service, and
    ``config_group``, the group of each configuration.
    """

    labels: pa.Array
    start: np.ndarray
    values: np.ndarray
    group_labels: pa.Array = field(init=False)
    group_start: np.ndarray = field(init=False)
    group_values: np.ndarray = field(init=False)
    config_group: np.ndarray = field(init=False)

    def __post_init__(self):
        names = pa.array([group_label(v) for v in self.labels.to_pylist()], pa.string())
        group_labels = pc.unique(names)
        self.group_labels = group_labels.take(pc.sort_indices(group_labels))
        n_groups = len(self.group_labels)
        self.config_group = numpy_array(
            pc.index_in(names, value_set=self.group_labels), dtype=np.int64
        )
        counts = self.counts()
        config_of_value = np.repeat(self.config_group, counts)
        key = (config_of_value << ALLOWED_BITS) | self.values
        key.sort()
        key &= (1 << ALLOWED_BITS) - 1  # in place: now the values
        self.group_values = key
        group_counts = np.zeros(n_groups, np.int64)
        np.add.at(group_counts, self.config_group, counts)
        self.group_start = np.zeros(n_groups + 1, np.int64)
        np.cumsum(group_counts, out=self.group_start[1:])

    def counts(self) -> np.ndarray:
        return np.diff(self.start)

    def configurations(self) -> Configurations:
        """The global histories as ``Configurations`` (no encounters), for the fallbacks."""
        empty = np.empty(0, np.int64)
        return Configurations(
            empty,
            len(self.labels),
            empty,
            self.start,
            self.values,
            self.config_group,
            self.group_start,
            self.group_values,
        )


def part_history(ds, p, policy):
    from ledgerkit.rules import taa

    ledger = ds.read(p, policy=policy)
    configs = taa.configurations(ledger)
    labels = taa.config_labels(ledger, configs)
    counts = configs.counts()
    # every configuration's text, so those without clean history still get a row
    config = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    label_array = pa.array(labels, pa.string())
    return pa.table(
        {
            "config": pa.DictionaryArray.from_arrays(pa.array(config), label_array),
            "allowed": pa.array(configs.hist_values, pa.int64()),
        }
    )


def part_contract_amounts(ds, p, policy, contracts) -> pa.Table:
    """Per configuration of partition ``p`` with a priced encounter: the latest one's
    ``day`` and contract ``amount`` (``ledgerkit.rules.fee_schedule``)."""
    from ledgerkit.rules import taa
    from ledgerkit.rules.fee_schedule import encounter_contract_amounts, latest_contract_amounts

    ledger = ds.read(p, policy=policy)
    configs = taa.configurations(ledger)
    amount = encounter_contract_amounts(ledger, contracts, policy)
    day = numpy_array(ledger.encounters["service_date"].cast(pa.int32()), dtype=np.int64)
    amount, day = latest_contract_amounts(configs.enc_config, day, amount, configs.n_configs)
    keep = np.flatnonzero(amount >= 0)
    labels = taa.config_labels(ledger, configs)
    return pa.table(
        {
            "config": pa.array([labels[c] for c in keep], pa.string()),
            "day": pa.array(day[keep]),
            "amount": pa.array(amount[keep]),
        }
    )


def merge_contract_amounts(history: GlobalHistory, *tables) -> np.ndarray:
    """Contract amount per global configuration (-1 none): the latest over partitions,
    the smaller on the same day (the single-machine rule)."""
    from ledgerkit.rules.fee_schedule import latest_contract_amounts

    tables = [t for t in tables if t.num_rows]
    if not tables:
        return np.full(len(history.labels), -1, np.int64)
    t = pa.concat_tables(tables)
    config = numpy_array(pc.index_in(t["config"], value_set=history.labels), dtype=np.int64)
    return latest_contract_amounts(
        config, numpy_array(t["day"]), numpy_array(t["amount"]), len(history.labels)
    )[0]


def merge_history(*tables) -> GlobalHistory:
    dictionaries = [
        t["config"].combine_chunks().dictionary for t in tables if len(t["config"].chunks)
    ]
    dictionaries = [d for d in dictionaries if len(d)]
    if not dictionaries:
        return GlobalHistory(
            pa.array([], pa.string()), np.zeros(1, np.int64), np.empty(0, np.int64)
        )
    labels = pc.unique(pa.concat_arrays(dictionaries))
    labels = labels.take(pc.sort_indices(labels))
    n_labels = len(labels)
    key = np.empty(sum(t.num_rows for t in tables), np.int64)  # one buffer: bounded memory
    counts = np.zeros(n_labels, np.int64)
    at = 0
    for t in tables:
        if not t.num_rows:
            continue
        chunk = t["config"].combine_chunks()
        to_global = numpy_array(pc.index_in(chunk.dictionary, value_set=labels), dtype=np.int64)
        code = to_global[numpy_array(chunk.indices)]
        counts += np.bincount(code, minlength=n_labels)
        part = key[at : at + len(code)]
        np.left_shift(code, ALLOWED_BITS, out=part)
        part |= numpy_array(t["allowed"])
        at += len(code)
        del code
    key.sort()
    key &= (1 << ALLOWED_BITS) - 1  # in place: now the values
    start = np.zeros(n_labels + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    return GlobalHistory(labels, start, key)


def _percentiles(history: GlobalHistory, percentile: float, min_claims: int) -> np.ndarray:
    """Per configuration: the 'lower' percentile of its history (-1 below ``min_claims``)."""
    return history_percentiles(history.start, history.values, percentile, min_claims)


def _config_table(history: GlobalHistory, selected: np.ndarray) -> dict:
    labels = history.labels.take(pa.array(selected, pa.int64()))
    parts = pc.split_pattern(labels, "|", max_splits=2)
    cols = {"config": labels}
    for i, name in enumerate(("payer_id", "place_of_service")):
        value = pc.list_element(parts, i)
        value = pc.if_else(pc.equal(value, "-"), pa.scalar(None, pa.string()), value)
        cols[name] = pc.dictionary_encode(value)
    return cols


def _order_by_claims(history, selected):
    counts = history.counts()[selected]
    # most claims first; ties by configuration text (single machine: by hash order)
    return selected[np.lexsort((selected, -counts))]


def suggest(history: GlobalHistory, percentile, min_claims, contract=None) -> pa.Table:
    """``suggest_taa``'s table from the global history; ``contract`` the contract TAA per
    global configuration (-1 none), or None for no contract step."""
    resolved = history.configurations().resolve(int(min_claims), contract)
    taa = resolved.percentile(percentile)
    selected = _order_by_claims(history, np.arange(len(history.labels)))
    cols = _config_table(history, selected)
    cols["claims"] = pa.array(history.counts()[selected], pa.int64())
    cols["taa_cents"] = pa.array(taa[selected], pa.int64(), mask=taa[selected] < 0)
    names = [None, *TAA_SOURCES]
    cols["taa_source"] = pa.array([names[s] for s in resolved.source[selected]], pa.string())
    return pa.table(cols)


def history_table(history: GlobalHistory, min_claims, percentiles) -> pa.Table:
    counts = history.counts()
    selected = _order_by_claims(history, np.flatnonzero(counts >= min_claims))
    cols = _config_table(history, selected)
    cols["claims"] = pa.array(counts[selected], pa.int64())
    cols["min_cents"] = pa.array(_percentiles(history, 0, 1)[selected])
    for p in percentiles:
        label = f"{p:g}".replace(".", "_")
        cols[f"p{label}_cents"] = pa.array(_percentiles(history, p, 1)[selected])
    cols["max_cents"] = pa.array(_percentiles(history, 100, 1)[selected])
    return pa.table(cols)
