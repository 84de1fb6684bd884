"""The benchmark tooling of issue #20: sizes, the regression check, the offline report,
and the bodies of the benchmarks of what users wait for (tiny, once each).

The check logic is proved on synthetic asv results JSON (the format asv 0.6 writes to
``results/<machine>/<commit>-<env>.json``); running asv itself is ``make bench-check``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench_results import bench_result
from bench_results import sample_results as before

from benchmarks import _data, asv_runs, bench_waits, regressions, report

ROOT = Path(__file__).resolve().parents[1]


def test_a_slowdown_beyond_the_factor_and_the_noise_is_a_regression():
    after = before()
    # classify 4x slower; balances(10000, 'payer') 1.6x with quartiles apart
    after["results"]["bench_core.Classify.time_classify"][0] = [0.040]
    after["results"]["bench_core.Classify.time_classify"][5:9] = [
        [0.039],
        [0.041],
        [0.039],
        [0.041],
    ]
    balances = after["results"]["bench_core.Balances.time_balances"]
    balances[0][2] = 0.32
    balances[5][2] = balances[7][2] = 0.31
    balances[6][2] = balances[8][2] = 0.33
    findings = regressions.compare_results(before(), after, factor=1.5)
    assert [(f.name, f.params, round(f.ratio, 6)) for f in findings] == [
        ("bench_core.Classify.time_classify", "3000", 4.0),
        ("bench_core.Balances.time_balances", "10000, 'payer'", 1.6),
    ]
    text = regressions.format_findings(findings, 1.5, "HEAD~1 -> HEAD")
    assert "2 regression(s) beyond 1.5x" in text
    assert "4.00x  bench_core.Classify.time_classify(3000): 0.01 -> 0.04" in text


def test_within_the_factor_or_within_the_noise_passes():
    after = before()
    # 1.4x: below the factor
    after["results"]["bench_core.Classify.time_classify"][0] = [0.014]
    after["results"]["bench_core.Classify.time_classify"][5:9] = [
        [0.0135],
        [0.0145],
        [0.0135],
        [0.0145],
    ]
    # 2x median but the confidence intervals overlap: noise, not a regression
    after["results"]["bench_core.Keys.time_build_keys"][0] = [0.008]
    after["results"]["bench_core.Keys.time_build_keys"][5:9] = [[0.0049], [0.02], [0.0049], [0.02]]
    assert regressions.compare_results(before(), after, factor=1.5) == []
    assert regressions.compare_results(before(), before(), factor=1.5) == []
    assert "no timing slower than 1.5x" in regressions.format_findings([], 1.5, "x")


def test_faster_memory_and_new_benchmarks_are_not_regressions():
    after = before()
    after["results"]["bench_core.Classify.time_classify"][0] = [0.001]  # 10x faster
    after["results"]["bench_core.Classify.peakmem_classify"][0] = [9e8]  # memory: not judged
    after["results"]["bench_new.time_new"] = [[9.0], [], "v", 0, 1.0]
    del after["results"]["bench_core.Keys.time_build_keys"]  # dropped
    assert regressions.compare_results(before(), after, factor=1.5) == []


def test_timeraw_is_judged_and_single_sample_tracks_are_not():
    after = before()
    after["results"]["bench_x12.Read835.track_ms_per_mb"][0] = [10.0]  # one sample: shown only
    after["results"]["bench_core.timeraw_import_ledgerkit"][0] = [1.2]
    after["results"]["bench_core.timeraw_import_ledgerkit"][5:9] = [[1.1], [1.3], [1.1], [1.3]]
    (finding,) = regressions.compare_results(before(), after, factor=1.5)
    assert (finding.name, finding.params, finding.ratio) == (
        "bench_core.timeraw_import_ledgerkit", "", 2.4)  # fmt: skip


def test_without_intervals_the_median_alone_decides():
    a, b = before(), before()
    for result in (a, b):  # one sample each: asv records no interval
        result["results"]["bench_core.Keys.time_build_keys"][5:9] = [[None]] * 4
    b["results"]["bench_core.Keys.time_build_keys"][0] = [0.0061]
    (finding,) = regressions.compare_results(a, b, factor=1.5)
    assert finding.name == "bench_core.Keys.time_build_keys"
    assert finding.ratio == pytest.approx(1.525)


def test_raw_samples_decide_when_asv_recorded_them():
    # from a real tiny run with LEDGERKIT_BENCH_SLOWDOWN=classify (ms): B's 99 % interval
    # is widened by one outlier and overlaps A's, but the samples differ clearly
    a_ms = [19.3, 23.9, 16.1, 24.3, 21.2, 40.1, 27.9, 19.9, 25.4, 11.9]
    b_ms = [85.3, 121.6, 132.1, 90.0, 84.7, 48.5, 1.1, 90.3, 73.6, 83.7]
    a, b = before(), before()
    for result, ms, ci in ((a, a_ms, (11.9, 40.1)), (b, b_ms, (1.1, 132.1))):
        row = result["results"]["bench_core.Classify.time_classify"]
        samples = [x / 1000 for x in ms]
        row[0] = [sorted(samples)[5]]
        row[5:9] = [[ci[0] / 1000], [ci[1] / 1000], [None], [None]]
        row += [[samples]]
    b_same = before()
    b_same["results"]["bench_core.Classify.time_classify"] = list(
        a["results"]["bench_core.Classify.time_classify"]
    )
    b_same["results"]["bench_core.Classify.time_classify"][0] = [0.0255]  # 1.06x
    (finding,) = regressions.compare_results(a, b, factor=1.5)
    assert finding.name == "bench_core.Classify.time_classify"
    assert finding.ratio == pytest.approx(85.3 / 23.9)
    assert regressions.compare_results(a, b_same, factor=1.5) == []
    # the same samples at a factor above the slowdown: not a regression
    assert regressions.compare_results(a, b, factor=4.0) == []


def test_a_benchmark_that_fails_in_b_is_a_regression():
    after = before()
    after["results"]["bench_core.Classify.time_classify"][0] = [None]
    (finding,) = regressions.compare_results(before(), after, factor=1.5)
    assert finding.after is None and finding.ratio == float("inf")
    assert "failed" in regressions.format_findings([finding], 1.5, "x")
    with pytest.raises(ValueError, match="factor must be above 1"):
        regressions.compare_results(before(), after, factor=1.0)


def test_verdict_exit_code_on_results_files(tmp_path, capsys):
    slow = before()
    slow["results"]["bench_core.Classify.time_classify"][0] = [0.05]
    slow["results"]["bench_core.Classify.time_classify"][5:9] = [
        [0.045],
        [0.055],
        [0.045],
        [0.055],
    ]
    for name, data in (("a.json", before()), ("b.json", slow), ("same.json", before())):
        (tmp_path / name).write_text(json.dumps(data))
    assert asv_runs.verdict(tmp_path / "a.json", tmp_path / "b.json", 1.5, "A -> B",
                            check=True) == 1  # fmt: skip
    assert "5.00x  bench_core.Classify.time_classify(3000)" in capsys.readouterr().out
    assert asv_runs.verdict(tmp_path / "a.json", tmp_path / "b.json", 1.5, "A -> B",
                            check=False) == 0  # fmt: skip
    assert asv_runs.verdict(tmp_path / "a.json", tmp_path / "same.json", 1.5, "A -> A",
                            check=True) == 0  # fmt: skip


def test_results_line_up_under_fixed_machine_and_environment_names(tmp_path):
    sha = "0123456789abcdef" * 2 + "01234567"
    assert asv_runs.result_file(sha, "quick").relative_to(ROOT).as_posix() == (
        ".asv/results/quick/ledgerkit-bench/01234567-ledgerkit-quick.json"
    )
    raw = tmp_path / "01234567-existing-py_some_venv_bin_python.json"
    raw.write_text(json.dumps(bench_result(sha, {}) | {"env_name": "existing-py_x"}))
    asv_runs._rename_env(raw, tmp_path / "01234567-ledgerkit-tiny.json", "ledgerkit-tiny")
    assert not raw.exists()
    moved = json.loads((tmp_path / "01234567-ledgerkit-tiny.json").read_text())
    assert moved["env_name"] == "ledgerkit-tiny"
    conf = json.loads(asv_runs.write_config("tiny").read_text())
    assert conf["results_dir"] == str(ROOT / ".asv" / "results" / "tiny")
    assert conf["repo"] == str(ROOT) and conf["environment_type"] == "existing"


def test_sizes_are_a_setting_and_the_slowdown_is_test_only(monkeypatch):
    monkeypatch.setenv("LEDGERKIT_BENCH_SIZE", "tiny")
    assert _data.by_size([3_000], [1_000_000], [10_000_000]) == [3_000]
    monkeypatch.setenv("LEDGERKIT_BENCH_SIZE", "full")
    assert _data.by_size(1, 2, 3) == 3
    monkeypatch.delenv("LEDGERKIT_BENCH_SIZE")
    assert _data.bench_size() == "quick"
    monkeypatch.setenv("LEDGERKIT_BENCH_SIZE", "huge")
    with pytest.raises(ValueError, match="expected one of"):
        _data.bench_size()
    monkeypatch.setenv("LEDGERKIT_BENCH_SLOWDOWN", "balances, classify:6")
    assert (_data.slowdown("classify"), _data.slowdown("balances"), _data.slowdown("x")) == (
        6, 10, 1)  # fmt: skip
    monkeypatch.delenv("LEDGERKIT_BENCH_SLOWDOWN")
    assert _data.slowdown("classify") == 1
    # the package's code only: an editable install puts the README (which documents
    # these settings) into src/ledgerkit.egg-info/PKG-INFO
    library = subprocess.run(
        ["grep", "-rl", "--include=*.py", "LEDGERKIT_BENCH", str(ROOT / "src" / "ledgerkit")],
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert library == ""  # the library never reads the benchmark settings


def test_benchmarks_refuse_a_ledgerkit_other_than_the_commit_under_test(tmp_path):
    env = dict(os.environ, LEDGERKIT_BENCH_EXPECT_SRC=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", "import benchmarks"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode != 0
    assert "not from the commit under test" in proc.stderr


def test_report_is_one_offline_html_file_with_every_benchmark(tmp_path):
    older, newer = before(), before()
    newer["commit_hash"], newer["date"] = "b" * 40, older["date"] + 86_400_000
    newer["results"]["bench_core.Classify.time_classify"][0] = [0.0123]
    folder = tmp_path / "ledgerkit-bench"
    folder.mkdir()
    (folder / "machine.json").write_text("{}")
    (folder / "bbbbbbbb-ledgerkit-tiny.json").write_text(json.dumps(newer))
    (folder / "aaaaaaaa-ledgerkit-tiny.json").write_text(json.dumps(older))
    out = report.write_report([folder, tmp_path / "missing"], tmp_path / "r" / "index.html",
                              "tiny")  # fmt: skip
    text = out.read_text()
    assert text.count("<script src=") == 0  # nothing fetched: plotly.js is inlined
    assert text.count("Plotly.newPlot") == 6  # one chart per benchmark
    assert "2 commit(s), 6 benchmark(s)" in text
    assert '["aaaaaaaa 2026-11-30 00:53","bbbbbbbb 2026-12-01 00:53"]' in text
    assert "0.0123" in text
    assert report.unit_of("bench_x12.Read835.track_ms_per_mb") == "ms/mb"
    empty = report.write_report([tmp_path / "none"], tmp_path / "e.html", "quick")
    assert "No results yet" in empty.read_text()


@pytest.fixture
def waits(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_waits, "WORK", tmp_path)
    return bench_waits


def test_user_wait_bodies_run_small(waits):
    tuner = waits.RuleTunerBuild()
    tuner.setup(3_000)
    tuner.time_build(3_000)
    assert "derived" in tuner.ledger.keys.policy_cache(tuner.ledger.policy)
    store = waits.StoreOpen()
    store.setup(3_000)
    store.time_open_and_read(3_000)
    assert store.path.parent == waits.WORK / "cold"


@pytest.mark.parametrize(
    "name",
    [
        "timeraw_first_classify_from_parquet",
        "timeraw_first_classify_from_plain_parquet",
        "timeraw_first_ledger_from_store",
    ],
)
def test_cold_start_code_runs_in_a_fresh_interpreter(waits, name):
    code = getattr(waits, name)(3_000)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=600, env=env)


def test_warm_cold_compiles_into_an_empty_numba_cache(tmp_path):
    cache = tmp_path / "numba"
    (cache / "stale").mkdir(parents=True)
    stmt, setup = bench_waits.warm_cold_code(cache)
    assert list(cache.iterdir()) == []  # emptied before every sample
    # Numba reads NUMBA_CACHE_DIR when first imported: the untimed setup sets it
    assert setup == f"import os; os.environ['NUMBA_CACHE_DIR'] = {str(cache)!r}"
    assert stmt == "from ledgerkit.warmup import warm_up; warm_up()"  # `ledgerkit warm`
    code = (
        "import benchmarks.bench_waits as w, benchmarks.asv_runs as r; "
        "print(hasattr(w, 'timeraw_warm_cold'))"
    )
    for size, exists in (("full", "True"), ("quick", "False")):
        env = dict(os.environ, LEDGERKIT_BENCH_SIZE=size)
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True, timeout=120).stdout  # fmt: skip
        assert out.strip() == exists


def test_compile_recorder_counts_signatures_and_takes_callees_out_of_callers():
    import numba

    from benchmarks.compile_times import CompileRecorder, format_records

    @numba.njit
    def callee(x):
        return x + 1

    @numba.njit
    def caller(x):
        return callee(x) * 2

    recorder = CompileRecorder().install()
    try:
        assert caller(1) == 4 and caller(1.5) == 5.0 and caller(2) == 6  # the third: compiled
    finally:
        recorder.uninstall()
    name = {k.rsplit(".", 1)[-1]: k for k in recorder.seconds}
    assert len(recorder.signatures[name["caller"]]) == 2  # int64 and float64, once each
    assert len(recorder.signatures[name["callee"]]) == 2
    assert set(recorder.several_signatures()) == {name["caller"], name["callee"]}
    assert all(seconds > 0 for seconds in recorder.seconds.values())
    record = {
        "families": ["toy"], "wall": 1.0, "cpu": 1.0, "family_cpu": {"toy": 0.5},
        "seconds": recorder.seconds, "several": recorder.several_signatures(),
    }  # fmt: skip
    text = format_records([record], top=5)
    assert text.startswith("process 1 (toy): 1.0 s wall, CPU 1.0 s, of which compiling")
    assert "(float64,)" in text and "(int64,)" in text
