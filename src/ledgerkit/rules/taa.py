"""Target allowed amounts (TAA): claim configurations, their clean history, fallbacks.

A claim configuration (DOMAIN.md, "Target allowed amounts") is the multiset
of an encounter's procedures (CPT + modifiers + units), its primary payer and
its place of service. Its **history** (DOMAIN.md, Settled question 5) is the
allowed amounts (``classify``'s ``allowed``: payments + last payer's
PR-1/2/3) of its encounters that a payer adjudicated with allowed > 0,
**without any live denial** (a live denial of any payer, as the derived
layer's ``payer_denial_rows`` selects them, with a non-zero amount) and
**never reversed** (no payer payment or adjustment of theirs was negated).
Denials, partial denials, unresolved denials and reversed remits are left
out, so they cannot drag a TAA down.

Percentiles use the "lower" rule: the ``p``-th percentile of ``n`` sorted
amounts is the one at position ``floor((n - 1) * p / 100)``, so a TAA is
always an amount some payer actually allowed.

A configuration with fewer than ``min_claims`` claims in history falls back,
in order (the ``taa_source`` column of :func:`suggest_taa`):

1. ``"history"``: its own history;
2. ``"contract"``: the contract rate, when a fee schedule or contracts
   (``ledgerkit.contracts``) are given, times ``contract_fraction``
   (``ledgerkit.rules.fee_schedule``: with contracts, the expected allowed of
   the configuration's latest fully priced encounter);
3. ``"cpt_set_any_pos"``: the history of the same CPT set (procedures with
   modifiers and units) for the same payer at every place of service, when it
   has ``min_claims`` claims;
4. none (null): no TAA, so no TAA rule matches it.

Configuration text, as shown in ``config``: ``payer|place of service|items``
with items ``CPT[:modifiers]xunits`` sorted and joined by ``+``; self-pay
and missing place of service show as ``-``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.analytics.derived import derived
from ledgerkit.errors import LedgerError
from ledgerkit.rules.fee_schedule import contract_config_rates, contract_rates, contract_taa
from ledgerkit.rules.taa_configs import (
    ALLOWED_BITS,
    TAA_SOURCES,
    Configurations,
    ResolvedHistory,
    check_percentile,
    config_labels,
    configurations,
    denied_entirely,
    group_label,
    history_percentiles,
    with_history,
)

__all__ = [
    "ALLOWED_BITS",
    "CONTRACT_FRACTION",
    "Configurations",
    "ResolvedHistory",
    "TAA_SOURCES",
    "check_percentile",
    "config_labels",
    "configurations",
    "denied_entirely",
    "encounter_taa",
    "group_label",
    "history_percentiles",
    "suggest_taa",
    "taa_history",
    "with_history",
]

CONTRACT_FRACTION = 0.95  # "a TAA is usually at or a little below the contracted rate"


def _config_columns(ledger, configs, selected: np.ndarray) -> dict:
    f = derived(ledger).features
    labels = config_labels(ledger, configs)
    rep = configs.representative[selected]
    payer = f.enc_payer[rep]
    pos = f.enc_pos[rep]
    payer_values = pa.array(f.payer_values or [""], pa.string())
    pos_values = pa.array(f.pos_values or [""], pa.string())
    return {
        "config": pa.array([labels[c] for c in selected], pa.string()),
        "payer_id": pa.DictionaryArray.from_arrays(
            pa.array(np.maximum(payer, 0), pa.int32(), mask=payer < 0), payer_values
        ),
        "place_of_service": pa.DictionaryArray.from_arrays(
            pa.array(np.maximum(pos, 0), pa.int32(), mask=pos < 0), pos_values
        ),
    }


def taa_history(ledger, *, min_claims: int = 1, percentiles=(10, 25, 50, 75, 90)) -> pa.Table:
    """Allowed-amount history per claim configuration.

    Returns
    -------
    pyarrow.Table
        ``config``, ``payer_id``, ``place_of_service``, ``claims`` (count),
        ``min_cents``, ``p<k>_cents`` for each percentile, ``max_cents``; one
        row per configuration with at least ``min_claims`` claims, most
        claims first.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> table = taa_history(lk.synth.generate(500, seed=2), min_claims=3)
    >>> table.column_names[3:6]
    ['claims', 'min_cents', 'p10_cents']
    """
    check_percentile(50, min_claims)
    configs = configurations(ledger)
    counts = configs.counts()
    selected = np.flatnonzero(counts >= min_claims)
    selected = selected[np.argsort(-counts[selected], kind="stable")]
    cols = _config_columns(ledger, configs, selected)
    cols["claims"] = pa.array(counts[selected], pa.int64())
    cols["min_cents"] = pa.array(configs.percentile(0, 1)[selected])
    for p in percentiles:
        check_percentile(p, 1)
        label = f"{p:g}".replace(".", "_")
        cols[f"p{label}_cents"] = pa.array(configs.percentile(p, 1)[selected])
    cols["max_cents"] = pa.array(configs.percentile(100, 1)[selected])
    return pa.table(cols)


def contract_per_config(
    ledger, configs: Configurations, fee_schedule, contract_fraction, contracts=None
):
    """Contract TAA per configuration (int64, -1 none); None without a fee schedule
    or contracts."""
    if fee_schedule is not None and contracts is not None:
        raise ValueError("give fee_schedule or contracts, not both")
    if contracts is not None:
        rates = contract_config_rates(ledger, configs, contracts)
        return contract_taa(rates, contract_fraction)
    if fee_schedule is None:
        return None
    rates = contract_rates(derived(ledger).features, configs.representative, fee_schedule)
    return contract_taa(rates, contract_fraction)


def suggest_taa(
    ledger,
    percentile: float = 50.0,
    min_claims: int = 10,
    *,
    fee_schedule=None,
    contract_fraction: float = CONTRACT_FRACTION,
    contracts=None,
) -> pa.Table:
    """A suggested TAA per configuration: a percentile of its clean history, or a fallback.

    Parameters
    ----------
    percentile : float
        0..100; lower percentiles close more encounters and write off more.
    min_claims : int
        Configurations with fewer claims in history fall back (module docstring).
    fee_schedule : table, optional
        Contracted rates (``ledgerkit.rules.fee_schedule``); without it the
        contract fallback is skipped.
    contract_fraction : float
        A contract TAA is ``floor(contract rate x contract_fraction)``.
    contracts : Contracts, path or table, optional
        Contracts (``ledgerkit.contracts.load``) instead of a fee schedule:
        the contract rate of a configuration is the expected allowed of its
        latest fully priced encounter (module docstring).

    Returns
    -------
    pyarrow.Table
        ``config``, ``payer_id``, ``place_of_service``, ``claims`` (in its own
        clean history), ``taa_cents`` and ``taa_source`` (``"history"``,
        ``"contract"``, ``"cpt_set_any_pos"``; both null when there is no TAA):
        one row per configuration, most claims first. Pass it (edited or not)
        as ``taa=`` to ``ledgerkit.rules.dry_run``.

    Raises
    ------
    ValueError
        ``percentile`` outside 0..100, ``min_claims`` below 1, a
        ``contract_fraction`` not in (0, 100], or both ``fee_schedule`` and
        ``contracts``.
    LedgerError
        A malformed fee schedule (the row and field named).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> table = suggest_taa(lk.synth.generate(800, seed=2), percentile=25, min_claims=5)
    >>> sorted(set(table["taa_source"].drop_null().to_pylist()))
    ['cpt_set_any_pos', 'history']
    >>> all(c > 0 for c in table["taa_cents"].drop_null().to_pylist())
    True
    """
    check_percentile(percentile, min_claims)
    configs = configurations(ledger)
    contract = contract_per_config(ledger, configs, fee_schedule, contract_fraction, contracts)
    resolved = configs.resolve(int(min_claims), contract)
    taa = resolved.percentile(percentile)
    counts = configs.counts()
    selected = np.argsort(-counts, kind="stable")
    cols = _config_columns(ledger, configs, selected)
    cols["claims"] = pa.array(counts[selected], pa.int64())
    cols["taa_cents"] = pa.array(taa[selected], pa.int64(), mask=taa[selected] < 0)
    names = resolved.source_names()
    cols["taa_source"] = pa.array([names[c] for c in selected], pa.string())
    return pa.table(cols)


def _taa_per_config(ledger, configs, percentile, min_claims, taa, contract) -> np.ndarray:
    if taa is None:
        check_percentile(percentile, min_claims)
        return configs.resolve(int(min_claims), contract).percentile(percentile)
    for name in ("config", "taa_cents"):
        if name not in taa.column_names:
            raise LedgerError(f"taa table: missing column {name!r} (see suggest_taa)")
    given = dict(zip(taa["config"].to_pylist(), taa["taa_cents"].to_pylist(), strict=True))
    labels = config_labels(ledger, configs)
    return np.array(
        [-1 if given.get(label) is None else int(given[label]) for label in labels] or [],
        np.int64,
    )


def encounter_taa(
    ledger,
    *,
    percentile: float,
    min_claims: int,
    taa=None,
    history=None,
    fee_schedule=None,
    contract_fraction: float = CONTRACT_FRACTION,
    contracts=None,
) -> np.ndarray:
    """TAA of every encounter (int64 cents, -1 when its configuration has none).

    ``taa`` is a table of TAAs to use (``suggest_taa``'s columns); otherwise
    the clean history with the fallbacks of the module docstring (the
    contract one only with a ``fee_schedule`` or ``contracts``). ``history`` (a
    ``GlobalHistory``) replaces the ledger's own allowed history.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(300, seed=2)
    >>> len(encounter_taa(ledger, percentile=50, min_claims=3)) == ledger.encounters.num_rows
    True
    """
    configs = configurations(ledger, history=history)
    contract = (
        None
        if taa is not None
        else contract_per_config(ledger, configs, fee_schedule, contract_fraction, contracts)
    )
    per_config = _taa_per_config(ledger, configs, percentile, min_claims, taa, contract)
    if configs.n_configs == 0:
        return np.empty(len(configs.enc_config), np.int64)
    return per_config[configs.enc_config]
