"""Adjustment rules evaluated over every procedure in one parallel pass.

The rules themselves (conditions, actions, rule sets, TOML files) are data,
defined in :mod:`ledgerkit.rule_set` and re-exported here.

How a rule set runs (:func:`dry_run`, :func:`apply_rules`):

- **Order.** Enabled site rules come first, then enabled global rules (a
  practice's own rules override the global library); within each, rules run
  by ``order``, then by position in the set. Disabled rules do nothing.
- **First match wins, per procedure.** Each procedure gets at most one rule:
  the first whose condition holds. A ``leave`` rule that matches stops later
  rules from touching the procedure.
- **One pass over the ledger as it is.** Conditions read the posted state;
  rules do not see each other's proposals.
- **Nothing to move, no match.** A write-off or transfer matches only where it
  would move a positive amount.
- **Capped by what is open, and said.** A transfer to PR moves at most the
  payer balance of its procedure; a write-off at most the payer balance or
  open PR it names, and never more than the balance (DOMAIN, Settled
  question 3). Where a rule asked for more (its matched adjustments, or an
  open PR above the balance), the dry run shows it: ``hits`` has
  ``requested_cents`` and ``capped``, ``summary`` has ``capped_procedures``
  and ``capped_cents``, and the proposed entries carry a note.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import rules as K
from ledgerkit._kernels.codes import CLASS_NAMES, STAGE_NAMES
from ledgerkit.analytics.derived import LedgerFeatures, ledger_features
from ledgerkit.core.arrow import day_number
from ledgerkit.core.schema import KINDS, PAYER_CLASSES
from ledgerkit.rules import taa as taa_module
from ledgerkit.rules.amounts import cap_notes, matched_amounts
from ledgerkit.rules.model import (
    ACTIONS,
    AGE_FROM,
    TAA_OPS,
    TARGETS,
    Action,
    Condition,
    Rule,
    RuleError,
    RuleSet,
    as_rule_set,
    default_rules,
    load_rules,
    save_rules,
)

__all__ = [
    "Action",
    "Condition",
    "DryRun",
    "Rule",
    "RuleError",
    "RuleSet",
    "apply_rules",
    "default_rules",
    "dry_run",
    "load_rules",
    "save_rules",
]

ACTOR = "ledgerkit rules"
_WRITE_OFF = KINDS.index("write_off")
_TRANSFER = KINDS.index("transfer_to_pr")
_BIG = 1 << 62


# --------------------------------------------------------------------- compile
@dataclass
class CompiledRules:
    """A rule set as the kernel's arrays, for one ledger's dictionaries."""

    rules: list  # evaluation order
    r_int: np.ndarray
    tables: dict
    enc_taa: np.ndarray
    proc_matched: np.ndarray  # [variant, procedure] cents of "matched" rules

    @property
    def skips_denied_lines(self) -> np.ndarray:
        """Per rule: a TAA rule that moves money and so leaves lines denied entirely alone."""
        moves = np.array(
            [
                r.when.allowed_vs_taa is not None
                and r.then.action in ("write_off", "transfer_to_pr")
                and not r.when.taa_includes_denied_lines
                for r in self.rules
            ],
            np.bool_,
        )
        return moves

    def masks(self) -> tuple:
        """The lookup tables as bitmaps over rules (``[code, word]`` uint64), in kernel order."""
        names = ("r_payer", "r_pclass", "r_site", "r_class", "r_stage", "r_cpt", "r_pair")
        out = tuple(_bitmap(self.tables[n]) for n in names)
        no_pair = (self.r_int[:, K.R_HAS_PAIR] == 0)[:, None]
        ri = self.r_int
        scalar = (
            (ri[:, K.R_BAL_MIN] > -_BIG) | (ri[:, K.R_BAL_MAX] < _BIG) | (ri[:, K.R_TAA_VAR] >= 0)
        )[:, None]
        act, tgt = ri[:, K.R_ACTION], ri[:, K.R_TARGET]
        wo = act == K.A_WRITE_OFF
        need = np.stack(
            [
                (wo & (tgt == K.T_PAYER_BALANCE)) | (act == K.A_TRANSFER_TO_PR),
                wo & (tgt == K.T_PR),
                wo & (tgt == K.T_BALANCE),
                self.skips_denied_lines,
            ],
            axis=1,
        )
        return out + (_bitmap(no_pair)[0], _bitmap(scalar)[0], _bitmap(need))


def _bitmap(table: np.ndarray) -> np.ndarray:
    """``[rule, code]`` booleans -> ``[code, word]`` uint64, bit r % 64 of word r // 64."""
    n_rules, n_codes = table.shape
    words = max(1, -(-n_rules // 64))
    out = np.zeros((n_codes, words), np.uint64)
    for r in range(n_rules):
        out[:, r // 64] |= table[r].astype(np.uint64) << np.uint64(r % 64)
    return out


def _table(n_rules: int, width: int) -> np.ndarray:
    return np.ones((n_rules, max(width, 1)), np.bool_)


def _restrict(table, r, values, wanted, offset=0):
    """Row ``r`` of a lookup table: True only at the codes of ``wanted`` values."""
    table[r, :] = False
    wanted = set(wanted)
    for code, v in enumerate(values):
        if v in wanted:
            table[r, code + offset] = True


def compile_rules(
    rules: RuleSet, feats: LedgerFeatures, ledger, taa=None, history=None, policy=None
) -> CompiledRules:
    """Turn ``rules`` into lookup tables over ``ledger``'s dictionary codes.

    TAA conditions read ``taa`` (a table of TAAs) when given, else the
    percentiles of ``history`` (a ``GlobalHistory``) or of the ledger's own.
    Rules with ``amount = "matched"`` read their matched adjustments under
    ``policy`` (default ``ledger.policy``).
    """
    order = rules.evaluation_order()
    n = len(order)
    r_int = np.zeros((n, K.N_R), np.int64)
    n_pairs = len(feats.group_values) * max(len(feats.carc_values), 1)
    t = {
        "r_payer": _table(n, len(feats.payer_values) + 1),
        "r_pclass": _table(n, len(PAYER_CLASSES)),
        "r_site": _table(n, len(feats.site_values) + 1),
        "r_class": _table(n, len(CLASS_NAMES)),
        "r_stage": _table(n, len(STAGE_NAMES)),
        "r_cpt": _table(n, len(feats.cpt_values)),
        "r_pair": np.zeros((n, max(n_pairs, 1)), np.bool_),
    }
    variants: dict = {}
    matched: dict = {}  # (group codes, carcs) -> row of proc_matched
    for r, rule in enumerate(order):
        w, a = rule.when, rule.then
        r_int[r, K.R_ACTION] = ACTIONS.index(a.action)
        r_int[r, K.R_TARGET] = TARGETS.index(a.target)
        if w.payer_ids:
            _restrict(t["r_payer"], r, feats.payer_values, w.payer_ids, offset=1)
        if w.payer_classes:
            _restrict(t["r_pclass"], r, PAYER_CLASSES, w.payer_classes)
        if rule.scope == "site":
            _restrict(t["r_site"], r, feats.site_values, [rule.site], offset=1)
        if w.classes:
            _restrict(t["r_class"], r, CLASS_NAMES, w.classes)
        if w.stages:
            _restrict(t["r_stage"], r, STAGE_NAMES, w.stages)
        if w.cpts:
            _restrict(t["r_cpt"], r, feats.cpt_values, w.cpts)
        if w.group_codes or w.carcs:
            r_int[r, K.R_HAS_PAIR] = 1
            n_c = max(len(feats.carc_values), 1)
            for g, gv in enumerate(feats.group_values):
                if w.group_codes and gv not in w.group_codes:
                    continue
                for c, cv in enumerate(feats.carc_values):
                    if not w.carcs or cv in w.carcs:
                        t["r_pair"][r, g * n_c + c] = True
        r_int[r, K.R_MATCHED_VAR] = -1
        if a.amount == "matched":
            key = (frozenset(w.group_codes), frozenset(w.carcs))
            r_int[r, K.R_MATCHED_VAR] = matched.setdefault(key, len(matched))
        r_int[r, K.R_BAL_MIN] = -_BIG if w.balance_min is None else w.balance_min
        r_int[r, K.R_BAL_MAX] = _BIG if w.balance_max is None else w.balance_max
        if w.age_from is not None:
            r_int[r, K.R_AGE_FROM] = AGE_FROM.index(w.age_from) + 1
            r_int[r, K.R_AGE_MIN] = -_BIG if w.age_min_days is None else w.age_min_days
            r_int[r, K.R_AGE_MAX] = _BIG if w.age_max_days is None else w.age_max_days
        r_int[r, K.R_TAA_VAR] = -1
        if w.allowed_vs_taa is not None:
            key = (w.taa_percentile, w.taa_min_claims)
            r_int[r, K.R_TAA_VAR] = variants.setdefault(key, len(variants))
            r_int[r, K.R_TAA_BP] = round(w.taa_fraction * 10000)
            r_int[r, K.R_TAA_OP] = TAA_OPS.index(w.allowed_vs_taa)
    enc_taa = np.full((max(len(variants), 1), feats.n_encounters), -1, np.int64)
    if variants:
        for (pct, min_claims), v in variants.items():
            enc_taa[v] = taa_module.encounter_taa(
                ledger, percentile=pct, min_claims=min_claims, taa=taa, history=history
            )
    pair_rows = [None] * len(matched)
    for r, rule in enumerate(order):
        var = r_int[r, K.R_MATCHED_VAR]
        if var >= 0:
            pair_rows[var] = t["r_pair"][r]
    policy = ledger.policy if policy is None else policy
    proc_matched = matched_amounts(ledger, policy, feats, pair_rows)
    return CompiledRules(order, r_int, t, enc_taa, proc_matched)


# --------------------------------------------------------------------- run
def _as_of_day(as_of, feats: LedgerFeatures) -> int:
    if as_of is None:
        return feats.latest_day
    return day_number(as_of)


def evaluate(ledger, rules: RuleSet, *, as_of=None, policy=None, taa=None, history=None):
    """Run the kernel: (compiled rules, features, per-procedure and per-encounter outputs).

    Returns ``(compiled, feats, proc_rule, from_payer, from_pr, closed_by,
    totals, requested)``: ``requested`` is what each procedure's rule asked
    for before the caps (``from_payer + from_pr`` is what it moves).
    """
    feats = ledger_features(ledger, policy)
    compiled = compile_rules(rules, feats, ledger, taa, history, policy)
    n_proc, n_enc = feats.n_procedures, feats.n_encounters
    n_rules = len(compiled.rules)
    proc_rule = np.empty(n_proc, np.int32)
    from_payer = np.empty(n_proc, np.int64)
    from_pr = np.empty(n_proc, np.int64)
    requested = np.empty(n_proc, np.int64)
    closed_by = np.empty(n_enc, np.int32)
    n_chunks = (n_enc + K.CHUNK - 1) // K.CHUNK
    acc = np.zeros((n_chunks, n_rules, K.N_S), np.int64)
    if compiled.skips_denied_lines.any():
        denied_entirely = taa_module.denied_entirely(ledger, policy)
    else:  # no rule asks: skip the denial facts
        denied_entirely = np.zeros(n_proc, np.bool_)
    if n_rules == 0:
        proc_rule[:] = -1
        from_payer[:] = 0
        from_pr[:] = 0
        requested[:] = 0
        closed_by[:] = -1
    else:
        K.evaluate_rules_nb(
            feats.enc_proc_start,
            feats.proc_entry_start,
            feats.entry_pair,
            feats.proc_cpt,
            feats.proc_service_day,
            feats.proc_payer_balance,
            feats.proc_open_pr,
            feats.proc_balance,
            compiled.proc_matched,
            denied_entirely,
            feats.enc_payer,
            feats.enc_pclass,
            feats.enc_site,
            feats.enc_class,
            feats.enc_stage,
            feats.enc_balance,
            feats.enc_allowed,
            feats.enc_last_remit,
            compiled.enc_taa,
            _as_of_day(as_of, feats),
            compiled.r_int,
            *compiled.masks(),
            proc_rule,
            from_payer,
            from_pr,
            requested,
            closed_by,
            acc,
        )
    totals = acc.sum(axis=0)
    return compiled, feats, proc_rule, from_payer, from_pr, closed_by, totals, requested


class DryRun:
    """What a rule set would do to a ledger, without posting anything.

    Attributes
    ----------
    summary : pyarrow.Table
        One row per rule (evaluation order, then disabled rules): ``rule``,
        ``position`` (evaluation rank, null when disabled), ``enabled``,
        ``scope``, ``site``, ``action``, ``procedures`` and ``encounters`` hit,
        ``written_off_cents``, ``to_pr_cents``, ``encounters_closed``
        (encounters the proposals bring to a zero balance, credited to the first
        rule, in evaluation order, that writes off on them), ``capped_procedures``
        (procedures where the rule asked for more than was open) and
        ``capped_cents`` (what the caps held back).
    entries : pyarrow.Table
        The proposed entries (built on first access): ``encounter_id``,
        ``line``, ``payer_seq``, ``kind``, ``group_code``, ``carc``,
        ``amount_cents``, ``source`` (``"rule"``), ``rule_id``, ``actor``,
        ``note`` (null, or what was asked and moved when a cap bit).
    hits : pyarrow.Table
        One row per procedure a rule matched: ``rule``, ``action``,
        ``amount_cents`` (moved), ``requested_cents`` (asked for), ``capped``
        (moved less than asked), ``from_bucket`` and ``to_bucket``.
    closed_by : numpy.ndarray
        Per encounter (the ledger's grouped order): the evaluation rank of the
        rule credited with closing it, -1 where the proposals leave it open.
    """

    def __init__(
        self,
        ledger,
        rules,
        compiled,
        feats,
        proc_rule,
        from_payer,
        from_pr,
        totals,
        closed_by,
        requested,
    ):
        self.ledger = ledger
        self.rules = rules
        self._compiled = compiled
        self._feats = feats
        self.proc_rule = proc_rule
        self.from_payer = from_payer
        self.from_pr = from_pr
        self.closed_by = closed_by
        self.requested = requested
        self.summary = _summary(rules, compiled.rules, totals)
        self._entries = None
        self._hits = None

    def __repr__(self) -> str:
        n = int((self.proc_rule >= 0).sum())
        return f"DryRun({len(self._compiled.rules)} rules run, {n} procedures hit)"

    @property
    def entries(self) -> pa.Table:
        if self._entries is None:
            self._entries = _proposed_entries(self)
        return self._entries

    @property
    def hits(self) -> pa.Table:
        if self._hits is None:
            self._hits = _hits_table(self)
        return self._hits


def _summary(rules: RuleSet, order: list, totals: np.ndarray) -> pa.Table:
    rank = {r.name: i for i, r in enumerate(order)}
    listed = list(order) + [r for r in rules if not r.enabled]
    cols = {
        "rule": [r.name for r in listed],
        "position": pa.array([rank.get(r.name) for r in listed], pa.int32()),
        "enabled": [r.enabled for r in listed],
        "scope": [r.scope for r in listed],
        "site": pa.array([r.site for r in listed], pa.string()),
        "action": [r.then.action for r in listed],
    }
    names = (
        "procedures",
        "encounters",
        "written_off_cents",
        "to_pr_cents",
        "encounters_closed",
        "capped_procedures",
        "capped_cents",
    )
    for j, name in enumerate(names):
        values = [int(totals[rank[r.name], j]) if r.name in rank else 0 for r in listed]
        cols[name] = pa.array(values, pa.int64())
    return pa.table(cols)


def _payer_seq_of(feats, procs) -> np.ndarray:
    return np.maximum(feats.proc_last[procs], 1).astype(np.int8)


def _proposed_entries(run: DryRun) -> pa.Table:
    feats, order = run._feats, run._compiled.rules
    keys = run.ledger.keys
    action = np.array([ACTIONS.index(r.then.action) for r in order] or [0], np.int64)
    hit = np.flatnonzero(run.proc_rule >= 0)
    rule = run.proc_rule[hit]
    act = action[rule] if len(hit) else np.empty(0, np.int64)
    parts = []  # (procedure, rule, payer_seq, kind, amount, sub-order)
    pay = hit[(act <= K.A_TRANSFER_TO_PR) & (run.from_payer[hit] > 0)]
    if len(pay):
        r = run.proc_rule[pay]
        kind = np.where(action[r] == K.A_WRITE_OFF, _WRITE_OFF, _TRANSFER)
        parts.append((pay, r, _payer_seq_of(feats, pay), kind, run.from_payer[pay], 0))
    pr = hit[(act == K.A_WRITE_OFF) & (run.from_pr[hit] > 0)]
    if len(pr):
        r = run.proc_rule[pr]
        parts.append(
            (pr, r, np.zeros(len(pr), np.int8), np.full(len(pr), _WRITE_OFF), run.from_pr[pr], 1)
        )
    if parts:
        proc = np.concatenate([p[0] for p in parts])
        rule = np.concatenate([p[1] for p in parts]).astype(np.int32)
        seq = np.concatenate([p[2] for p in parts]).astype(np.int8)
        kind = np.concatenate([p[3] for p in parts]).astype(np.int8)
        amount = np.concatenate([p[4] for p in parts]).astype(np.int64)
        sub = np.concatenate([np.full(len(p[0]), p[5]) for p in parts])
        o = np.lexsort((sub, proc))
        proc, rule, seq, kind, amount = proc[o], rule[o], seq[o], kind[o], amount[o]
    else:
        proc = np.empty(0, np.int64)
        rule = np.empty(0, np.int32)
        seq = np.empty(0, np.int8)
        kind = np.empty(0, np.int8)
        amount = np.empty(0, np.int64)
    rows = keys.proc_rows(proc)
    n = len(proc)
    moved = run.from_payer[proc] + run.from_pr[proc]
    return pa.table(
        {
            "encounter_id": run.ledger.procedures["encounter_id"].take(pa.array(rows)),
            "line": pa.array(keys.proc_line[proc], pa.int32()),
            "payer_seq": pa.array(seq, pa.int8()),
            "kind": pa.DictionaryArray.from_arrays(pa.array(kind), pa.array(list(KINDS))),
            "group_code": _per_rule(rule, [r.then.group for r in order]),
            "carc": _per_rule(rule, [r.then.reason for r in order]),
            "amount_cents": pa.array(amount, pa.int64()),
            "source": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int8)), pa.array(["rule"])
            ),
            "rule_id": _per_rule(rule, [r.name for r in order]),
            "actor": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int32)), pa.array([ACTOR])
            ),
            "note": pa.array(cap_notes(run.requested[proc], moved), pa.string()),
        }
    )


def _per_rule(rule: np.ndarray, values: list) -> pa.DictionaryArray:
    """A dictionary column holding ``values[rule[i]]`` (dictionary values unique)."""
    uniq, inverse = np.unique(np.array(values or [""], dtype=object), return_inverse=True)
    indices = inverse.reshape(-1).astype(np.int32)[rule] if len(rule) else np.empty(0, np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array(list(uniq)))


_BUCKET_MOVES = {
    ("write_off", "payer_balance"): ("payer_balance", "written_off"),
    ("write_off", "pr"): ("open_pr", "pr_written_off"),
    ("write_off", "balance"): ("balance", "written_off"),
    ("transfer_to_pr", "payer_balance"): ("payer_balance", "pushed_to_pr"),
    ("flag", "payer_balance"): ("balance", "flagged"),
    ("leave", "payer_balance"): ("balance", "left"),
}


def _hits_table(run: DryRun) -> pa.Table:
    order = run._compiled.rules
    keys = run.ledger.keys
    hit = np.flatnonzero(run.proc_rule >= 0)
    rule = run.proc_rule[hit].astype(np.int32)
    moves = [
        _BUCKET_MOVES[
            (r.then.action, r.then.target if r.then.action == "write_off" else "payer_balance")
        ]
        for r in order
    ] or [("", "")]
    moved = run.from_payer[hit] + run.from_pr[hit]
    requested = run.requested[hit]  # 0 for flags and leave-alone rules
    return pa.table(
        {
            "encounter_id": run.ledger.procedures["encounter_id"].take(
                pa.array(keys.proc_rows(hit))
            ),
            "line": pa.array(keys.proc_line[hit], pa.int32()),
            "rule": _per_rule(rule, [r.name for r in order]),
            "action": _per_rule(rule, [r.then.action for r in order]),
            "amount_cents": pa.array(moved, pa.int64()),
            "requested_cents": pa.array(requested, pa.int64()),
            "capped": pa.array(requested > moved, pa.bool_()),
            "from_bucket": _per_rule(rule, [m[0] for m in moves]),
            "to_bucket": _per_rule(rule, [m[1] for m in moves]),
        }
    )


def dry_run(ledger, rules=None, *, as_of=None, policy=None, taa=None, history=None) -> DryRun:
    """What ``rules`` would post on ``ledger``, without touching it.

    Parameters
    ----------
    ledger : Ledger
    rules : RuleSet, list of Rule, or path of a TOML rule file
        Defaults to :func:`default_rules`.
    as_of : date, optional
        The day ages are counted to; defaults to the day of the latest posting.
    policy : CarcPolicy, optional
        Defaults to ``ledger.policy``.
    taa : pyarrow.Table, optional
        TAAs to use instead of the history percentiles (``config`` and
        ``taa_cents`` columns, e.g. an edited ``suggest_taa`` table).
    history : GlobalHistory, optional
        The allowed history of a whole partitioned ledger
        (``ledgerkit.dask.global_history``): TAA percentiles are taken from it
        instead of from ``ledger`` (how ``ledgerkit.dask.dry_run`` runs a part).

    Returns
    -------
    DryRun
        ``.summary`` per rule, ``.entries`` proposed, ``.hits`` explained.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(300, seed=4)
    >>> run = dry_run(ledger)
    >>> run.summary.column_names[:3]
    ['rule', 'position', 'enabled']
    >>> sum(run.entries["amount_cents"].to_pylist()) == (
    ...     sum(run.summary["written_off_cents"].to_pylist())
    ...     + sum(run.summary["to_pr_cents"].to_pylist()))
    True
    """
    rules = as_rule_set(rules)
    compiled, feats, proc_rule, from_payer, from_pr, closed_by, totals, requested = evaluate(
        ledger, rules, as_of=as_of, policy=policy, taa=taa, history=history
    )
    return DryRun(
        ledger,
        rules,
        compiled,
        feats,
        proc_rule,
        from_payer,
        from_pr,
        totals,
        closed_by,
        requested,
    )


def apply_rules(ledger, rules=None, *, as_of=None, policy=None, taa=None, at=None):
    """Post the entries a dry run proposes; returns the new ledger.

    ``rules`` may be a :class:`DryRun` of this same ledger: its entries are
    posted exactly as shown. Otherwise a dry run is made first.

    Raises
    ------
    RuleError
        A dry run made on another ledger.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(300, seed=4)
    >>> run = dry_run(ledger)
    >>> after = apply_rules(ledger, run)
    >>> after.entries.num_rows - ledger.entries.num_rows == run.entries.num_rows
    True
    """
    if isinstance(rules, DryRun):
        if rules.ledger is not ledger:
            raise RuleError("apply_rules: this dry run was made on another ledger; run it again")
        run = rules
    else:
        run = dry_run(ledger, rules, as_of=as_of, policy=policy, taa=taa)
    if run.entries.num_rows == 0:
        return ledger
    return ledger.append(run.entries, at=at)
