"""ledgerkit.partitioning and ledgerkit.dask: distributed results equal the single-machine ones.

One LocalCluster (2 workers x 1 thread, processes) for the whole module, small
ledgers. Every comparison is exact: tables are compared with ``Table.equals``
after dictionary columns are read as strings and rows sorted by their keys
(distributed rows come partition by partition).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ledgerkit as lk
from ledgerkit import rules
from ledgerkit.analytics import metrics
from ledgerkit.errors import LedgerError
from ledgerkit.rules import taa, whatif
from ledgerkit.scale.partitioning import PartitionedLedger, partition, partition_of

lkd = pytest.importorskip("ledgerkit.dask")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with lkd.local_cluster(2, 1, memory_limit="1GiB") as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def ledger():
    return lk.synth.generate(1200, seed=11)


@pytest.fixture(scope="module")
def ds(ledger, tmp_path_factory):
    return partition(ledger, tmp_path_factory.mktemp("parts"), 3)


def _norm(table: pa.Table, keys) -> pa.Table:
    cols = {}
    for name in table.column_names:
        col = table[name]
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        cols[name] = col
    out = pa.table(cols)
    if keys:
        out = out.sort_by([(k, "ascending", "at_end") for k in keys])
    return out.combine_chunks()


def assert_same(distributed_table, single_table, keys=()):
    a, b = _norm(distributed_table, keys), _norm(single_table, keys)
    assert a.schema == b.schema
    assert a.num_rows == b.num_rows
    for name in a.column_names:
        assert a[name].equals(b[name]), name


# ----------------------------------------------------------------- partition
def _fnv_ref(text: str) -> int:
    mask = (1 << 64) - 1
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & mask
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & mask
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & mask
    return h ^ (h >> 31)


def test_partition_of_matches_reference_and_honours_offsets():
    ids = ["E0000001", "E0000002", "", "é-клиника-7", "E0000001"]
    expected = [_fnv_ref(s) % 7 for s in ids]
    assert partition_of(ids, 7).tolist() == expected
    chunked = pa.chunked_array([pa.array(ids[:2]), pa.array(ids[2:])])
    assert partition_of(chunked, 7).tolist() == expected
    sliced = pa.array(["x", "y", *ids])[2:]  # an offset into the buffers
    assert partition_of(sliced, 7).tolist() == expected


def test_partition_of_rejects_bad_input():
    with pytest.raises(ValueError, match="n_partitions must be between"):
        partition_of(["a"], 0)
    with pytest.raises(TypeError, match="n_partitions must be an integer"):
        partition_of(["a"], 2.0)
    with pytest.raises(TypeError, match="encounter ids must be strings"):
        partition_of(pa.array([1, 2]), 2)
    with pytest.raises(LedgerError, match="null ids"):
        partition_of(pa.array(["a", None]), 2)


def test_partition_layout(ledger, ds):
    manifest = json.loads((ds.folder / "manifest.json").read_text())
    assert manifest["kind"] == "hash" and manifest["n_partitions"] == 3
    assert manifest["totals"]["entries"] == ledger.entries.num_rows
    seen = set()
    for p in range(3):
        part = ds.read(p)
        enc = set(part.encounters["encounter_id"].to_pylist())
        assert not enc & seen  # no encounter in two partitions
        seen |= enc
        assert set(part.procedures["encounter_id"].to_pylist()) <= enc
        assert set(part.entries["encounter_id"].to_pylist()) <= enc
        assert (partition_of(part.encounters["encounter_id"], 3) == p).all()
        assert part.keys.entry_order is None  # grouped order kept: no sort
    assert seen == set(ledger.encounters["encounter_id"].to_pylist())
    whole = ds.ledger()
    assert_same(lk.classify(whole), lk.classify(ledger), ["encounter_id"])
    assert pq.read_table(ds.paths("entries")[0]).num_rows == manifest["partitions"][0]["entries"]


def test_partition_errors(ledger, ds, tmp_path):
    with pytest.raises(FileExistsError, match="overwrite=True"):
        partition(ledger, ds.folder, 3)
    again = partition(ledger, tmp_path / "again", 2)
    assert partition(ledger, again.folder, 4, overwrite=True).n_partitions == 4
    assert len(list((again.folder / "entries").glob("part-*.parquet"))) == 4
    with pytest.raises(LedgerError, match="no manifest.json"):
        PartitionedLedger(tmp_path)
    with pytest.raises(TypeError, match="expected a Ledger, a LedgerStore"):
        partition(42, tmp_path / "x", 2)
    with pytest.raises(LedgerError, match="neither a ledger folder"):
        partition(tmp_path, tmp_path / "y", 2)
    with pytest.raises(TypeError, match="call ledgerkit.partition"):
        lkd.classify(ledger)
    with pytest.raises(IndexError, match="out of range"):
        ds.read(3)


def test_partition_from_ledger_folder_and_store(ledger, tmp_path):
    folder = ledger.to_parquet(tmp_path / "flat")
    from_folder = partition(folder, tmp_path / "p1", 2)
    assert from_folder.manifest["totals"]["entries"] == ledger.entries.num_rows
    pytest.importorskip("deltalake")
    from ledgerkit.store.ledger_store import LedgerStore

    store = LedgerStore.create(tmp_path / "store", ledger, actor="test", note="load")
    from_store = partition(store, tmp_path / "p2", 2)
    for p in range(2):
        a, b = from_folder.read(p), from_store.read(p)
        assert_same(lk.classify(a), lk.classify(b), ["encounter_id"])


def test_import_ledgerkit_does_not_import_dask():
    code = "import sys, ledgerkit; assert not {'dask', 'distributed'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------- cluster
def test_workers_use_one_numba_thread(client):
    import os

    threads = client.run(lambda: os.environ.get("NUMBA_NUM_THREADS"))
    assert set(threads.values()) == {"1"}


@pytest.mark.parametrize(
    ("level", "keys"),
    [
        ("procedure", ["encounter_id", "line"]),
        ("payer", ["encounter_id", "payer_seq"]),
        ("encounter", ["encounter_id"]),
    ],
)
def test_balances(client, ledger, ds, level, keys):
    assert_same(lkd.balances(ds, level, client=client), lk.balances(ledger, level), keys)


def test_balances_rejects_level(client, ds):
    with pytest.raises(ValueError, match="level must be one of"):
        lkd.balances(ds, "claim", client=client)


def test_classify_with_pending(client, ledger, ds):
    pending = ledger.encounters["encounter_id"].to_pylist()[:1100]  # sent once (scattered)
    got = lkd.classify(ds.folder, pending=pending, client=client)
    assert_same(got, lk.classify(ledger, pending=pending), ["encounter_id"])


def test_classify_to_parquet(client, ledger, ds, tmp_path):
    out = lkd.classify(ds, client=client, out=tmp_path / "classes")
    written = pq.read_table(sorted(out.glob("part-*.parquet")))
    single = lk.classify(ledger)
    assert_same(written, single, ["encounter_id"])
    counts = single["class"].cast(pa.string()).value_counts().to_pylist()
    assert lkd.class_counts(out) == {c["values"]: c["counts"] for c in counts}


def _taa_rules():
    low = rules.Rule(
        "taa_low",
        when=rules.Condition(allowed_vs_taa=">=", taa_percentile=10.0, taa_min_claims=3),
        then=rules.Action("write_off", target="payer_balance"),
        order=1,
    )
    high = rules.Rule(
        "taa_high",
        when=rules.Condition(
            allowed_vs_taa="<", taa_percentile=75.0, taa_fraction=0.9, taa_min_claims=2
        ),
        then=rules.Action("flag"),
        order=2,
    )
    return rules.default_rules().with_rule(low).with_rule(high)


@pytest.mark.parametrize("rule_set", ["default", "taa"])
def test_dry_run(client, ledger, ds, rule_set):
    rs = rules.default_rules() if rule_set == "default" else _taa_rules()
    got = lkd.dry_run(ds, rs, client=client)
    want = rules.dry_run(ledger, rs)
    assert_same(got.summary, want.summary)
    assert_same(got.entries, want.entries, ["encounter_id", "line", "payer_seq", "kind"])
    assert_same(got.hits, want.hits, ["encounter_id", "line"])
    if rule_set == "taa":  # the TAA rules really fired, with global percentiles
        hit = dict(zip(want.summary["rule"].to_pylist(), want.summary["procedures"].to_pylist()))
        assert hit["taa_low"] > 0 and hit["taa_high"] > 0


def test_dry_run_with_taa_table_and_as_of(client, ledger, ds, tmp_path):
    table = taa.suggest_taa(ledger, 40, 3)
    rs = _taa_rules()
    got = lkd.dry_run(ds, rs, taa=table, as_of="2025-06-30", client=client, out=tmp_path)
    want = rules.dry_run(ledger, rs, taa=table, as_of="2025-06-30")
    assert got.entries is None
    assert_same(got.summary, want.summary)
    written = pq.read_table(sorted((tmp_path / "entries").glob("*.parquet")))
    assert_same(written, want.entries, ["encounter_id", "line", "payer_seq", "kind"])


def test_global_history_is_the_single_machine_history(client, ledger, ds):
    history = lkd.global_history(ds, client=client)
    configs = taa.configurations(ledger)
    labels = taa.config_labels(ledger, configs)
    single = {}
    for c, label in enumerate(labels):
        values = configs.hist_values[configs.hist_start[c] : configs.hist_start[c + 1]]
        if len(values):
            single[label] = values.tolist()
    got = {
        label: history.values[history.start[i] : history.start[i + 1]].tolist()
        for i, label in enumerate(history.labels.to_pylist())
        if history.start[i + 1] > history.start[i]
    }
    assert got == single
    # every configuration is listed (those without clean history too), and each CPT
    # set's pooled history (the "cpt_set_any_pos" fallback) is its configurations' own
    assert sorted(history.labels.to_pylist()) == sorted(set(labels))
    pooled = {}
    for label, values in single.items():
        pooled.setdefault(taa.group_label(label), []).extend(values)
    got_pooled = {
        label: history.group_values[history.group_start[i] : history.group_start[i + 1]].tolist()
        for i, label in enumerate(history.group_labels.to_pylist())
        if history.group_start[i + 1] > history.group_start[i]
    }
    assert got_pooled == {label: sorted(v) for label, v in pooled.items()}


@pytest.mark.parametrize(("percentile", "min_claims"), [(50, 3), (25, 1), (90, 5)])
def test_suggest_taa(client, ledger, ds, percentile, min_claims):
    got = lkd.suggest_taa(ds, percentile, min_claims, client=client)
    assert_same(got, taa.suggest_taa(ledger, percentile, min_claims), ["config"])
    claims = got["claims"].to_numpy()
    assert (np.diff(claims) <= 0).all()  # most claims first


def test_taa_history(client, ledger, ds):
    got = lkd.taa_history(ds, min_claims=2, percentiles=(5, 50, 97.5), client=client)
    want = taa.taa_history(ledger, min_claims=2, percentiles=(5, 50, 97.5))
    assert_same(got, want, ["config"])


@pytest.mark.parametrize("min_claims", [3, 20])
def test_suggest_taa_with_contracts(client, ledger, ds, min_claims):
    """The contract fallback (issue #15): the latest priced encounter of each
    configuration over all partitions, as on one ledger."""
    contracts = lk.synth.sample_contracts()
    got = lkd.suggest_taa(
        ds, 50, min_claims, contracts=contracts, contract_fraction=0.9, client=client
    )
    want = taa.suggest_taa(ledger, 50, min_claims, contracts=contracts, contract_fraction=0.9)
    assert_same(got, want, ["config"])
    assert "contract" in got["taa_source"].to_pylist()


def test_suggest_taa_validates(client, ds):
    with pytest.raises(ValueError, match="percentile must be between"):
        lkd.suggest_taa(ds, 120, client=client)


@pytest.mark.parametrize("by_payer", [True, False])
@pytest.mark.parametrize(
    ("mode", "levels"), [("percentile", None), ("fraction", [0.5, 0.8, 1.0, 1.25])]
)
def test_taa_sweep(client, ledger, ds, mode, levels, by_payer):
    got = lkd.taa_sweep(ds, levels, mode=mode, min_claims=3, by_payer=by_payer, client=client)
    want = whatif.taa_sweep(ledger, levels, mode=mode, min_claims=3, by_payer=by_payer)
    assert_same(got, want, ["payer_id", "level"])
    assert int(np.sum(got["written_off_cents"].to_numpy())) > 0


def test_taa_sweep_validates(client, ds):
    with pytest.raises(ValueError, match="mode must be one of"):
        lkd.taa_sweep(ds, mode="median", client=client)


@pytest.mark.parametrize("by_payer", [True, False])
def test_threshold_sweep(client, ledger, ds, by_payer):
    got = lkd.threshold_sweep(ds, [0, 99, 499, 2500], by_payer=by_payer, client=client)
    want = whatif.threshold_sweep(ledger, [0, 99, 499, 2500], by_payer=by_payer)
    assert_same(got, want, ["payer_id", "level"])


@pytest.mark.parametrize("name", lkd.METRICS)
@pytest.mark.parametrize("by", [None, "payer", ("month", "carc"), ("payer_class", "category")])
def test_metrics(client, ledger, ds, name, by):
    from ledgerkit.analytics.facts import parse_by

    got = getattr(lkd, name)(ds, by, client=client)
    want = getattr(metrics, name)(ledger, by=by)
    assert want.num_rows > 0
    assert_same(got, want, list(parse_by(by)))


def test_metric_options(client, ledger, ds):
    got = lkd.aging(ds, ("provider", "cpt"), amount="open_pr", today="2026-03-01", client=client)
    want = metrics.aging(ledger, by=("provider", "cpt"), amount="open_pr", today="2026-03-01")
    assert_same(got, want, ["provider", "cpt"])
    with pytest.raises(ValueError, match="metric must be one of"):
        lkd.metric("denial_count", ds, client=client)
    with pytest.raises(ValueError, match="unknown dimension"):
        lkd.metric("aging", ds, by="zip", client=client)


def test_generate_partition_by_partition(client, tmp_path):
    ds = lkd.generate(tmp_path / "gen", 6_000, 3, seed=4, client=client)
    assert ds.manifest["kind"] == "generated" and ds.n_partitions == 3
    whole = ds.ledger()  # validates: unique encounter and entry ids, negations resolve
    assert whole.encounters.num_rows == ds.manifest["totals"]["encounters"]
    assert 4_000 < whole.procedures.num_rows < 8_000
    first = ds.read(1).encounters["encounter_id"][0].as_py()
    assert first.startswith("P00001-")
    assert_same(lkd.classify(ds, client=client), lk.classify(whole), ["encounter_id"])
    sweep = whatif.taa_sweep(whole, [10, 50, 90], min_claims=3, by_payer=False)
    got = lkd.taa_sweep(ds, [10, 50, 90], min_claims=3, by_payer=False, client=client)
    assert_same(got, sweep, ["payer_id", "level"])


def test_scale_out_benchmark_runs(client, tmp_path):
    from benchmarks import scale_out

    report = scale_out.run(client, 10_000, 2, tmp_path)
    assert report["totals"]["procedures"] > 5_000
    assert sum(report["classes"].values()) == report["totals"]["encounters"]
    assert set(report["classify"]["peak_worker_mib"]) == set(client.run(lambda: 0))
