"""What-if for sizing rules: live figures of a dry run, and sweeps of one rule alone.

:class:`WhatIf`, :func:`dry_run_figures` and :func:`rule_figures` read their
figures off a :func:`ledgerkit.rules.dry_run` (the RuleTuner's live totals
come from there), so they always say what the engine would post.

Each sweep (the curve of one rule alone over its whole range) answers "what
would this rule do at each of K levels" in one pass over the encounters plus
a prefix sum, not K dry runs: an encounter hit at
some levels is hit at a contiguous run of them (a lower TAA is reached by
more encounters; a higher threshold covers more balances), so it is added
once, at the level where its run ends, and a cumulative sum spreads it.

The rules swept are exactly these ``ledgerkit.rules`` rules (tests check the
numbers against ``dry_run``):

- TAA: ``allowed_vs_taa = ">="`` with the level as ``taa_percentile`` (or as
  ``taa_fraction`` of the TAA at ``percentile``), action ``write_off`` of the
  ``payer_balance`` (never of a line denied entirely; TAAs from the clean
  history with the CPT-set fallback, as ``dry_run`` without a ``taa`` table);
- small balance: ``balance_min = 1``, ``balance_max = level``, action
  ``write_off`` of the whole ``balance``.

Figures per level (and per primary payer; self-pay is a null ``payer_id``):
``encounters_hit``, ``encounters_closed`` (brought to a zero balance),
``written_off_cents`` and ``ar_closed_cents`` (the balance of the closed
encounters: A/R that leaves the books without more work). "Hit vs closed" and
"written off vs A/R removed" are defined in docs/glossary.md.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import taa as K
from ledgerkit.analytics.derived import Derived, derived
from ledgerkit.rules.engine import DryRun, dry_run
from ledgerkit.rules.model import Action, Condition, Rule, RuleSet
from ledgerkit.rules.taa import check_percentile, configurations, denied_entirely

__all__ = ["taa_sweep", "threshold_sweep", "WhatIf", "dry_run_figures", "rule_figures"]

FIGURES = ("encounters_hit", "encounters_closed", "written_off_cents", "ar_closed_cents")
RUN_FIGURES = FIGURES + ("to_pr_cents",)
MODES = ("percentile", "fraction")


def _segment_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    cs = np.zeros(len(values) + 1, np.int64)
    np.cumsum(values, out=cs[1:])
    return cs[starts[1:]] - cs[starts[:-1]]


def _amounts(data: Derived):
    """Per encounter: what the TAA rule writes off (the positive payer balance of
    every procedure except those denied entirely: it never writes off an
    appealable denial) and what the small-balance rule writes off (the whole
    balance)."""
    hit = data.memo.get("whatif.amounts")
    if hit is None:
        f = data.features
        # Capped as dry_run caps them (Settled question 3): a write-off takes at
        # most the payer balance / open PR it names, and never more than the balance.
        room = np.maximum(f.proc_balance, 0)
        pb = np.minimum(np.maximum(f.proc_payer_balance, 0), room)
        pr = np.minimum(np.maximum(f.proc_open_pr, 0), room - pb)
        # The TAA rule never writes off a line denied entirely (an appealable denial).
        taa_takes = (pb > 0) & ~denied_entirely(data.ledger, data.policy)
        taa_amount = _segment_sums(np.where(taa_takes, pb, 0), f.enc_proc_start)
        everything = _segment_sums(pb + pr, f.enc_proc_start)
        hit = data.memo["whatif.amounts"] = (taa_amount, everything)
    return hit


def _chunk(n: int) -> tuple[int, int]:
    size = max(4096, -(-n // 64))
    return size, max(1, -(-n // size))


def _levels(levels, name) -> np.ndarray:
    arr = np.asarray(levels, dtype=np.float64).reshape(-1)
    if len(arr) == 0 or not np.isfinite(arr).all():
        raise ValueError(f"{name} must be a non-empty list of finite numbers")
    if (np.diff(arr) <= 0).any():
        raise ValueError(f"{name} must be strictly increasing, got {arr[:5].tolist()}...")
    return arr


def _table(levels, acc, payer_values, by_payer: bool, cumulative: str) -> pa.Table:
    totals = acc.sum(axis=0)  # [slot, level, W]
    if cumulative == "reverse":
        totals = np.flip(np.cumsum(np.flip(totals, axis=1), axis=1), axis=1)
    else:
        totals = np.cumsum(totals, axis=1)
    n_slots, n_levels = totals.shape[:2]
    if not by_payer:
        totals = totals.sum(axis=0, keepdims=True)
        payer = pa.nulls(n_levels, pa.string())
        slot_idx = np.zeros(n_levels, np.int64)
        level_idx = np.arange(n_levels)
        cols = {"level": pa.array(levels[level_idx])}
    else:
        present = np.flatnonzero(totals[:, :, K.W_HIT].sum(axis=1) > 0)
        level_idx = np.tile(np.arange(n_levels), len(present))
        slot_idx = np.repeat(present, n_levels)
        names = [None] + list(payer_values)
        payer = pa.array([names[s] for s in present], pa.string()).take(
            pa.array(np.repeat(np.arange(len(present)), n_levels))
        )
        cols = {"level": pa.array(levels[level_idx])}
    cols["payer_id"] = payer
    for j, name in enumerate(FIGURES):
        cols[name] = pa.array(totals[slot_idx, level_idx, j].astype(np.int64))
    return pa.table(cols)


def taa_sweep(
    ledger,
    levels=None,
    *,
    mode: str = "percentile",
    percentile: float = 50.0,
    min_claims: int = 10,
    by_payer: bool = True,
    history=None,
) -> pa.Table:
    """The TAA write-off rule at every level, in one pass.

    Parameters
    ----------
    levels : sequence of float, strictly increasing
        ``mode="percentile"``: TAA percentiles (default 0, 1, ..., 100).
        ``mode="fraction"``: fractions of the TAA at ``percentile`` (default
        0.50, 0.51, ..., 1.50).
    min_claims : int
        Configurations with fewer claims in clean history fall back to their CPT
        set at any place of service, else have no TAA (``ledgerkit.rules.taa``).
    by_payer : bool
        One row per level and primary payer, or one row per level.
    history : GlobalHistory, optional
        The allowed history of a whole partitioned ledger
        (``ledgerkit.dask.global_history``) to read TAAs from instead of this
        ledger's own.

    Returns
    -------
    pyarrow.Table
        ``level``, ``payer_id`` and the figures of the module docstring.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(2000, seed=3)
    >>> curve = taa_sweep(ledger, [10, 50, 90], min_claims=5, by_payer=False)
    >>> hit = curve["encounters_hit"].to_pylist()
    >>> hit[0] >= hit[1] >= hit[2]
    True
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    check_percentile(percentile, min_claims)
    if levels is None:
        levels = (
            np.arange(101.0) if mode == "percentile" else np.round(np.arange(101) / 100 + 0.5, 2)
        )
    levels = _levels(levels, "levels")
    if mode == "percentile" and (levels.min() < 0 or levels.max() > 100):
        raise ValueError("percentile levels must be between 0 and 100")
    if mode == "fraction" and levels.min() < 0:
        raise ValueError("fraction levels must be >= 0")
    data = derived(ledger)
    f = data.features
    configs = configurations(ledger, history=history)
    resolved = configs.resolve(int(min_claims))  # with the fallbacks, as dry_run reads TAAs
    taa_amount, _ = _amounts(data)
    if mode == "percentile":
        mode_code = K.SWEEP_PERCENTILE
        cfg_ok = resolved.n > 0
        base = np.zeros(max(configs.n_configs, 1), np.int64)
    else:
        mode_code = K.SWEEP_FRACTION
        base = resolved.percentile(percentile)
        cfg_ok = base >= 0
    levels_bp = np.round(levels * 10000).astype(np.int64)
    return _sweep(
        f, mode_code, configs, resolved, cfg_ok, base, levels, levels_bp, taa_amount, by_payer
    )


def threshold_sweep(ledger, thresholds=None, *, by_payer: bool = True) -> pa.Table:
    """The small-balance write-off rule at every threshold (cents, inclusive), in one pass.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> curve = threshold_sweep(lk.synth.generate(2000, seed=3), [100, 500, 1000],
    ...                         by_payer=False)
    >>> curve["encounters_closed"].to_pylist() == sorted(curve["encounters_closed"].to_pylist())
    True
    """
    if thresholds is None:
        thresholds = np.arange(0, 10_001, 100)
    levels = _levels(thresholds, "thresholds")
    if (levels != np.round(levels)).any():
        raise ValueError("thresholds are integer cents")
    data = derived(ledger)
    f = data.features
    configs = configurations(ledger)
    _, everything = _amounts(data)
    empty = np.zeros(1, np.int64)
    return _sweep(
        f,
        K.SWEEP_SMALL_BALANCE,
        configs,
        configs.resolve(1),
        np.zeros(1, np.bool_),
        empty,
        levels,
        levels.astype(np.int64),
        everything,
        by_payer,
    )


def _sweep(f, mode, configs, resolved, cfg_ok, base, levels, levels_bp, amount, by_payer):
    n_enc = f.n_encounters
    size, n_chunks = _chunk(n_enc)
    n_slots = len(f.payer_values) + 1
    acc = np.zeros((n_chunks, n_slots, len(levels), K.N_W), np.int64)
    K.sweep_nb(
        mode,
        configs.enc_config,
        (f.enc_payer + 1).astype(np.int64),
        f.enc_allowed,
        f.enc_balance,
        amount,
        resolved.lo,
        resolved.n,
        resolved.values,
        np.asarray(cfg_ok, np.bool_),
        base,
        levels,
        levels_bp,
        acc,
        size,
    )
    cumulative = "forward" if mode == K.SWEEP_SMALL_BALANCE else "reverse"
    return _table(levels, acc, f.payer_values, by_payer, cumulative)


def _encounter_figures(run: DryRun):
    """Per encounter of a dry run: hit, closed, cents written off, pushed to PR, A/R closed."""
    feats = run._feats
    order = run._compiled.rules
    rule = run.proc_rule
    # index -1 (no rule) reads the trailing False
    writes_off = np.array([r.then.action == "write_off" for r in order] + [False])
    pushes = np.array([r.then.action == "transfer_to_pr" for r in order] + [False])
    starts = feats.enc_proc_start
    hit = _segment_sums((rule >= 0).astype(np.int64), starts) > 0
    written = _segment_sums(np.where(writes_off[rule], run.from_payer + run.from_pr, 0), starts)
    to_pr = _segment_sums(np.where(pushes[rule], run.from_payer, 0), starts)
    closed = run.closed_by >= 0
    ar_closed = np.where(closed, feats.enc_balance, 0)
    return {
        "encounters_hit": hit.astype(np.int64),
        "encounters_closed": closed.astype(np.int64),
        "written_off_cents": written,
        "ar_closed_cents": ar_closed,
        "to_pr_cents": to_pr,
    }


def dry_run_figures(run: DryRun, *, by_payer: bool = False):
    """The figures of a dry run (:data:`RUN_FIGURES`), in total or per primary payer.

    Read from the dry run's own proposals: what the engine would post is what
    is counted. ``encounters_hit`` counts encounters any rule matched;
    ``encounters_closed`` those the proposals bring to a zero balance;
    ``ar_closed_cents`` their balance.

    Returns
    -------
    dict or pyarrow.Table
        A dict of totals, or with ``by_payer`` one row per primary payer that
        any rule hit (``payer_id``, null for self-pay, then the figures).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(300, seed=4)
    >>> run = lk.rules.dry_run(ledger)
    >>> total = dry_run_figures(run)
    >>> total["written_off_cents"] == sum(run.summary["written_off_cents"].to_pylist())
    True
    """
    per_enc = _encounter_figures(run)
    feats = run._feats
    if not by_payer:
        return {name: int(per_enc[name].sum()) for name in RUN_FIGURES}
    slot = (feats.enc_payer + 1).astype(np.int64)
    n_slots = len(feats.payer_values) + 1
    sums = {}
    for name in RUN_FIGURES:
        acc = np.zeros(n_slots, np.int64)
        np.add.at(acc, slot, per_enc[name])
        sums[name] = acc
    present = np.flatnonzero(sums["encounters_hit"] > 0)
    names = [None] + list(feats.payer_values)
    cols = {"payer_id": pa.array([names[s] for s in present], pa.string())}
    for name in RUN_FIGURES:
        cols[name] = pa.array(sums[name][present], pa.int64())
    return pa.table(cols)


def rule_figures(run: DryRun) -> pa.Table:
    """One row per enabled rule of a dry run (evaluation order), then a ``TOTAL`` row.

    Columns: ``rule``, ``action``, ``procedures`` and :data:`RUN_FIGURES`. A
    rule's ``encounters_hit`` counts the encounters it matched; an encounter
    closed is credited to one rule (see ``DryRun.summary``), so the closed
    encounters, the cents and the A/R add up to the TOTAL row; its
    ``encounters_hit`` counts each encounter once.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> run = lk.rules.dry_run(lk.synth.generate(300, seed=4))
    >>> rows = rule_figures(run).to_pylist()
    >>> rows[-1]["rule"], rows[-1]["encounters_closed"] == sum(
    ...     r["encounters_closed"] for r in rows[:-1])
    ('TOTAL', True)
    """
    summary = run.summary
    n_rules = len(run._compiled.rules)  # the enabled rules lead the summary
    enabled = summary.slice(0, n_rules)
    feats = run._feats
    # A/R closed per rule: a loop over the (few) rules keeps the sums in exact int64.
    ar_closed = [int(feats.enc_balance[run.closed_by == r].sum()) for r in range(n_rules)]
    hit = np.zeros(feats.n_encounters, np.bool_)
    hit[feats.proc_encounter()[run.proc_rule >= 0]] = True
    cols = {
        "rule": enabled["rule"].to_pylist() + ["TOTAL"],
        "action": enabled["action"].to_pylist() + [None],
        "procedures": enabled["procedures"].to_pylist(),
        "encounters_hit": enabled["encounters"].to_pylist(),
        "encounters_closed": enabled["encounters_closed"].to_pylist(),
        "written_off_cents": enabled["written_off_cents"].to_pylist(),
        "ar_closed_cents": ar_closed,
        "to_pr_cents": enabled["to_pr_cents"].to_pylist(),
    }
    for name in ("procedures", *RUN_FIGURES):
        # each encounter is hit once in the TOTAL; the rest add up over the rules
        cols[name].append(int(hit.sum()) if name == "encounters_hit" else sum(cols[name]))
    return pa.table(
        {
            "rule": pa.array(cols["rule"], pa.string()),
            "action": pa.array(cols["action"], pa.string()),
            **{k: pa.array(cols[k], pa.int64()) for k in ("procedures", *RUN_FIGURES)},
        }
    )


class WhatIf:
    """Live re-evaluation of a TAA write-off rule followed by a small-balance rule.

    :meth:`evaluate` dry-runs the rule set :meth:`rules` returns with
    :func:`ledgerkit.rules.dry_run` (the ledger's derived data and TAAs are
    cached, so a call costs one pass of the rules kernel) and reads the
    figures off that run: what it reports is what the engine would post.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> w = WhatIf(lk.synth.generate(2000, seed=3), min_claims=5)
    >>> out = w.evaluate(taa_percentile=25, small_balance=499)
    >>> sorted(out)
    ['ar_closed_cents', 'encounters_closed', 'encounters_hit', 'written_off_cents']
    """

    def __init__(self, ledger, *, min_claims: int = 10, policy=None):
        check_percentile(50, min_claims)
        self.ledger = ledger
        self.min_claims = int(min_claims)
        self.policy = policy
        self.n_encounters = derived(ledger, policy).features.n_encounters

    def evaluate(
        self,
        taa_percentile: float | None = None,
        taa_fraction: float = 1.0,
        small_balance: int | None = None,
        *,
        by_payer: bool = False,
    ):
        """Totals (a dict of :data:`FIGURES`) or, with ``by_payer``, a table per primary payer.

        ``taa_percentile=None`` switches the TAA rule off; ``small_balance=None``
        switches the small-balance rule off.
        """
        if taa_fraction < 0:
            raise ValueError(f"taa_fraction must be >= 0, got {taa_fraction}")
        if small_balance is not None and int(small_balance) != small_balance:
            raise ValueError("small_balance is integer cents")
        if taa_percentile is not None:
            check_percentile(taa_percentile, self.min_claims)
        rules = self.rules(taa_percentile, taa_fraction, small_balance)
        run = dry_run(self.ledger, rules, policy=self.policy)
        out = dry_run_figures(run, by_payer=by_payer)
        if not by_payer:
            return {name: out[name] for name in FIGURES}
        return out.select(["payer_id", *FIGURES])

    def rules(self, taa_percentile=None, taa_fraction=1.0, small_balance=None) -> RuleSet:
        """The rule set that :meth:`evaluate` sizes, ready for ``dry_run`` or a rule file."""
        out = []
        if taa_percentile is not None:
            out.append(
                Rule(
                    "taa_write_off",
                    when=Condition(
                        allowed_vs_taa=">=",
                        taa_percentile=float(taa_percentile),
                        taa_fraction=float(taa_fraction),
                        taa_min_claims=self.min_claims,
                    ),
                    then=Action("write_off", target="payer_balance", group="CO", reason="45"),
                    order=1,
                )
            )
        if small_balance:  # a threshold of 0 cents closes nothing: no rule
            out.append(
                Rule(
                    "small_balance",
                    when=Condition(balance_min=1, balance_max=int(small_balance)),
                    then=Action("write_off", target="balance", group="CO", reason="A2"),
                    order=2,
                )
            )
        return RuleSet(tuple(out))
