"""What-if sweeps for sizing rules: TAA levels and small-balance thresholds.

Each sweep answers "what would this rule do at each of K levels" in one pass
over the encounters plus a prefix sum, not K dry runs: an encounter hit at
some levels is hit at a contiguous run of them (a lower TAA is reached by
more encounters; a higher threshold covers more balances), so it is added
once, at the level where its run ends, and a cumulative sum spreads it.

The rules swept are exactly these ``ledgerkit.rules`` rules (tests check the
numbers against ``dry_run``):

- TAA: ``allowed_vs_taa = ">="`` with the level as ``taa_percentile`` (or as
  ``taa_fraction`` of the TAA at ``percentile``), action ``write_off`` of the
  ``payer_balance``;
- small balance: ``balance_min = 1``, ``balance_max = level``, action
  ``write_off`` of the whole ``balance``.

Figures per level (and per primary payer; self-pay is a null ``payer_id``):
``encounters_hit``, ``encounters_closed`` (brought to a zero balance),
``written_off_cents`` and ``ar_closed_cents`` (the balance of the closed
encounters: A/R that leaves the books without more work).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import taa as K
from ledgerkit.analytics.derived import Derived, derived
from ledgerkit.rules.model import Action, Condition, Rule, RuleSet
from ledgerkit.rules.taa import check_percentile, configurations

__all__ = ["taa_sweep", "threshold_sweep", "WhatIf"]

FIGURES = ("encounters_hit", "encounters_closed", "written_off_cents", "ar_closed_cents")
MODES = ("percentile", "fraction")


def _segment_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    cs = np.zeros(len(values) + 1, np.int64)
    np.cumsum(values, out=cs[1:])
    return cs[starts[1:]] - cs[starts[:-1]]


def _amounts(data: Derived):
    """Per encounter: TAA write-off, what the small-balance rule adds after it, and alone."""
    hit = data.memo.get("whatif.amounts")
    if hit is None:
        f = data.features
        pb = np.maximum(f.proc_payer_balance, 0)
        pr = np.maximum(f.proc_open_pr, 0)
        taa_amount = _segment_sums(pb, f.enc_proc_start)
        rest = _segment_sums(np.where(f.proc_payer_balance > 0, 0, pr), f.enc_proc_start)
        everything = _segment_sums(pb + pr, f.enc_proc_start)
        hit = data.memo["whatif.amounts"] = (taa_amount, rest, everything)
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
        Configurations with fewer claims in history have no TAA.
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
    taa_amount, _, _ = _amounts(data)
    if mode == "percentile":
        mode_code = K.SWEEP_PERCENTILE
        cfg_ok = configs.counts() >= min_claims
        base = np.zeros(max(configs.n_configs, 1), np.int64)
    else:
        mode_code = K.SWEEP_FRACTION
        base = configs.percentile(percentile, int(min_claims))
        cfg_ok = base >= 0
    levels_bp = np.round(levels * 10000).astype(np.int64)
    return _sweep(f, mode_code, configs, cfg_ok, base, levels, levels_bp, taa_amount, by_payer)


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
    _, _, everything = _amounts(data)
    empty = np.zeros(1, np.int64)
    return _sweep(
        f,
        K.SWEEP_SMALL_BALANCE,
        configs,
        np.zeros(1, np.bool_),
        empty,
        levels,
        levels.astype(np.int64),
        everything,
        by_payer,
    )


def _sweep(f, mode, configs, cfg_ok, base, levels, levels_bp, amount, by_payer):
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
        configs.hist_start,
        configs.hist_values,
        np.asarray(cfg_ok, np.bool_),
        base,
        levels,
        levels_bp,
        acc,
        size,
    )
    cumulative = "forward" if mode == K.SWEEP_SMALL_BALANCE else "reverse"
    return _table(levels, acc, f.payer_values, by_payer, cumulative)


class WhatIf:
    """Precomputed arrays for live re-evaluation (a slider calls :meth:`evaluate`).

    Evaluates a TAA write-off rule followed by a small-balance write-off rule
    (the rule set :meth:`rules` returns, as ``dry_run`` would run it).

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
        data = derived(ledger, policy)
        self._f = data.features
        self._configs = configurations(ledger, policy)
        self._taa_amount, self._rest, self._all = _amounts(data)
        self._slot = (self._f.enc_payer + 1).astype(np.int64)
        self._size, self._n_chunks = _chunk(self._f.n_encounters)
        self._n_slots = len(self._f.payer_values) + 1
        self._taa_cache: dict = {}

    def _cfg_taa(self, percentile) -> np.ndarray:
        if percentile is None:
            return np.full(max(self._configs.n_configs, 1), -1, np.int64)
        hit = self._taa_cache.get(percentile)
        if hit is None:
            check_percentile(percentile, self.min_claims)
            hit = self._configs.percentile(percentile, self.min_claims)
            if len(hit) == 0:
                hit = np.full(1, -1, np.int64)
            self._taa_cache = {percentile: hit}
        return hit

    def evaluate(
        self,
        taa_percentile: float | None = None,
        taa_fraction: float = 1.0,
        small_balance: int | None = None,
        *,
        by_payer: bool = False,
    ):
        """Totals (a dict) or, with ``by_payer``, a table per primary payer.

        ``taa_percentile=None`` switches the TAA rule off; ``small_balance=None``
        switches the small-balance rule off.
        """
        if taa_fraction < 0:
            raise ValueError(f"taa_fraction must be >= 0, got {taa_fraction}")
        if small_balance is not None and int(small_balance) != small_balance:
            raise ValueError("small_balance is integer cents")
        acc = np.zeros((self._n_chunks, self._n_slots, K.N_W), np.int64)
        f = self._f
        K.whatif_nb(
            self._configs.enc_config,
            self._slot,
            f.enc_allowed,
            f.enc_balance,
            self._taa_amount,
            self._rest,
            self._all,
            self._cfg_taa(taa_percentile),
            int(round(taa_fraction * 10000)),
            -1 if small_balance is None else int(small_balance),
            acc,
            self._size,
        )
        per_slot = acc.sum(axis=0)
        if not by_payer:
            total = per_slot.sum(axis=0)
            return {name: int(total[j]) for j, name in enumerate(FIGURES)}
        names = [None] + list(f.payer_values)
        present = np.flatnonzero(per_slot[:, K.W_HIT] > 0)
        cols = {"payer_id": pa.array([names[s] for s in present], pa.string())}
        for j, name in enumerate(FIGURES):
            cols[name] = pa.array(per_slot[present, j].astype(np.int64))
        return pa.table(cols)

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
