"""Claim configurations and their clean allowed history: the arrays behind ``rules.taa``.

The semantics (what a configuration is, which encounters make its history, the
fallbacks) are in the docstring of :mod:`ledgerkit.rules.taa`; this module
builds them: dense configuration ids by an order-independent hash, each
configuration's sorted clean history, the pooled history of its CPT set at any
place of service, and :class:`ResolvedHistory` (the slice each TAA is read from).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels import codes as C
from ledgerkit._kernels import taa as K
from ledgerkit.analytics.derived import Derived, LedgerFeatures, derived, payer_denial_rows
from ledgerkit.core.arrow import numpy_array
from ledgerkit.core.row_groups import valid_flags

__all__ = [
    "Configurations",
    "ResolvedHistory",
    "TAA_SOURCES",
    "check_percentile",
    "config_labels",
    "configurations",
    "denied_entirely",
    "group_label",
    "history_percentiles",
    "with_history",
]

ALLOWED_BITS = 40  # allowed amounts below 2**40 cents (~11 billion dollars): key packing
CHUNK = 16384
# Where a configuration's TAA comes from (``taa_source``; code 0 = none, shown null).
TAA_SOURCES = ("history", "contract", "cpt_set_any_pos")
NO_SOURCE, FROM_HISTORY, FROM_CONTRACT, FROM_CPT_SET = 0, 1, 2, 3


@dataclass(frozen=True)
class ResolvedHistory:
    """The amounts each configuration's TAA is taken from, after the fallbacks.

    Configuration ``c`` reads the sorted slice ``values[lo[c] : lo[c] + n[c]]``
    (``n[c]`` is 0 when it has no TAA); ``source[c]`` is its ``TAA_SOURCES``
    code (1-based, 0 none). A contract TAA is a slice of one amount.
    """

    lo: np.ndarray
    n: np.ndarray
    values: np.ndarray
    source: np.ndarray  # int8

    def percentile(self, percentile: float) -> np.ndarray:
        """int64 TAA per configuration (-1 none): the "lower" percentile of its slice."""
        out = np.empty(len(self.n), np.int64)
        K.taa_of_configs_nb(self.lo, self.n, self.values, float(percentile), 1, out)
        return out

    def source_names(self) -> list:
        return [None if s == NO_SOURCE else TAA_SOURCES[s - 1] for s in self.source.tolist()]


@dataclass(frozen=True)
class Configurations:
    """Dense configuration ids of a ledger's encounters and each one's sorted clean history.

    ``config_group`` maps each configuration to its CPT set for its payer at
    any place of service; ``group_start`` / ``group_values`` hold each group's
    pooled history (the ``"cpt_set_any_pos"`` fallback).
    """

    enc_config: np.ndarray  # int64 per encounter
    n_configs: int
    representative: np.ndarray  # first encounter of each configuration
    hist_start: np.ndarray  # int64[n_configs + 1] offsets into hist_values
    hist_values: np.ndarray  # int64 allowed amounts, sorted within each configuration
    config_group: np.ndarray  # int64 per configuration
    group_start: np.ndarray  # int64[n_groups + 1] offsets into group_values
    group_values: np.ndarray  # int64, sorted within each group

    def counts(self) -> np.ndarray:
        return np.diff(self.hist_start)

    def percentile(self, percentile: float, min_claims: int) -> np.ndarray:
        """The "lower" ``percentile`` of every configuration's own history (no fallback).

        Parameters
        ----------
        percentile : float
            0..100 (see :func:`check_percentile`).
        min_claims : int
            Configurations with fewer claims in history get -1 (no TAA).

        Returns
        -------
        numpy.ndarray
            int64 cents per configuration id, -1 where there is no TAA.
        """
        return history_percentiles(self.hist_start, self.hist_values, percentile, min_claims)

    def resolve(self, min_claims: int, contract=None) -> ResolvedHistory:
        """Each configuration's TAA amounts after the fallbacks (module docstring).

        ``contract`` is the contract TAA per configuration (int64, -1 none), or None.
        """
        counts = self.counts()
        group_counts = np.diff(self.group_start)[self.config_group]
        own = counts >= min_claims
        has_contract = ~own & (
            np.zeros(self.n_configs, np.bool_) if contract is None else contract >= 0
        )
        pooled = ~own & ~has_contract & (group_counts >= min_claims)
        source = np.zeros(self.n_configs, np.int8)
        source[own] = FROM_HISTORY
        source[has_contract] = FROM_CONTRACT
        source[pooled] = FROM_CPT_SET
        n_hist, n_group = len(self.hist_values), len(self.group_values)
        at_contract = n_hist + n_group + np.arange(self.n_configs, dtype=np.int64)
        lo = np.where(own, self.hist_start[:-1], 0)
        lo = np.where(pooled, n_hist + self.group_start[:-1][self.config_group], lo)
        lo = np.where(has_contract, at_contract, lo).astype(np.int64)
        n = np.where(own, counts, np.where(pooled, group_counts, 0))
        n = np.where(has_contract, 1, n).astype(np.int64)
        extra = np.zeros(self.n_configs, np.int64) if contract is None else contract
        values = np.concatenate([self.hist_values, self.group_values, extra]).astype(np.int64)
        return ResolvedHistory(lo, n, values, source)


def history_percentiles(start, values, percentile: float, min_claims: int) -> np.ndarray:
    """The "lower" ``percentile`` of each sorted history, -1 below ``min_claims`` claims.

    Parameters
    ----------
    start : numpy.ndarray
        int64 offsets (one more than there are histories) into ``values``.
    values : numpy.ndarray
        int64 allowed amounts, sorted within each history.

    Returns
    -------
    numpy.ndarray
        int64 per history: the amount at ``floor((n - 1) * percentile / 100)``.
        Used by :class:`Configurations` and the distributed ``GlobalHistory``.

    Examples
    --------
    >>> history_percentiles(np.array([0, 3, 4]), np.array([100, 200, 300, 50]), 50, 2).tolist()
    [200, -1]
    """
    start = np.asarray(start, np.int64)
    out = np.empty(len(start) - 1, np.int64)
    K.taa_of_configs_nb(
        start[:-1], np.diff(start), values, float(percentile), int(min_claims), out
    )
    return out


def check_percentile(percentile, min_claims) -> None:
    """Raise ``ValueError`` unless ``0 <= percentile <= 100`` and ``min_claims`` is an int >= 1.

    The argument check of every TAA function, single-machine and distributed.
    """
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be between 0 and 100, got {percentile}")
    if int(min_claims) != min_claims or min_claims < 1:
        raise ValueError(f"min_claims must be an integer >= 1, got {min_claims!r}")


def configurations(ledger, policy=None, *, history=None) -> Configurations:
    """Configuration of every encounter and the clean allowed history (cached with the
    ledger's derived data).

    Parameters
    ----------
    ledger : Ledger
    policy : CarcPolicy, optional
        Defaults to ``ledger.policy``.
    history : GlobalHistory, optional
        The allowed history of a whole partitioned ledger
        (``ledgerkit.dask.global_history``): each configuration's history is
        read from it instead of from ``ledger`` (see :func:`with_history`).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> configs = configurations(lk.synth.generate(200, seed=2))
    >>> len(configs.enc_config), int(configs.counts().sum()) <= 200
    (200, True)
    """
    data = derived(ledger, policy)
    own = data.memo.get("taa.configurations")
    if own is None:
        own = data.memo["taa.configurations"] = _configurations(data)
    if history is None:
        return own
    return with_history(own, _config_labels(data, own), history)


def group_label(label: str) -> str:
    """The CPT-set text of a configuration text: ``payer|items`` (place of service dropped)."""
    parts = label.split("|", 2)
    return label if len(parts) < 3 else parts[0] + "|" + parts[2]


def _slices_from(labels: list, table_labels: pa.Array, table_start: np.ndarray):
    """(start, gather index) that take ``labels``' histories from a labelled global table."""
    pos = numpy_array(
        pc.index_in(pa.array(labels, pa.string()), value_set=table_labels), fill=-1, dtype=np.int64
    )
    found = pos[pos >= 0]
    lo = np.zeros(len(pos), np.int64)
    counts = np.zeros(len(pos), np.int64)
    lo[pos >= 0] = table_start[found]
    counts[pos >= 0] = table_start[found + 1] - table_start[found]
    start = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    idx = np.arange(int(start[-1]), dtype=np.int64) + np.repeat(lo - start[:-1], counts)
    return start, idx


def with_history(configs: Configurations, labels: list, history) -> Configurations:
    """``configs`` with each configuration's history taken from a global one.

    Parameters
    ----------
    configs : Configurations
        One ledger's (a partition's) configurations.
    labels : list of str
        Their text (:func:`config_labels`).
    history : GlobalHistory
        ``labels`` (sorted configuration text), ``start`` and ``values`` of
        every configuration of the whole ledger, and the same per CPT set
        (``group_labels``, ``group_start``, ``group_values``;
        ``ledgerkit.scale.taa``).

    Returns
    -------
    Configurations
        A new object (``configs`` is not changed): the same configuration ids,
        the global clean histories (empty for a configuration the history lacks).
    """
    start, idx = _slices_from(labels, history.labels, history.start)
    n_groups = len(configs.group_start) - 1
    names = [""] * n_groups
    for c, g in enumerate(configs.config_group.tolist()):
        names[g] = group_label(labels[c])
    g_start, g_idx = _slices_from(names, history.group_labels, history.group_start)
    return dataclasses.replace(
        configs,
        hist_start=start,
        hist_values=history.values[idx],
        group_start=g_start,
        group_values=history.group_values[g_idx],
    )


def _live_denial_rows(data: Derived) -> np.ndarray:
    """Grouped entry positions of the live payer denials with a non-zero amount."""
    rows = payer_denial_rows(data.codes)  # as Facts selects them, without the facts pass
    return rows[data.keys.amounts[rows] != 0]


def _entry_procedure(data: Derived, rows: np.ndarray) -> np.ndarray:
    return np.searchsorted(data.keys.proc_entry_start, rows, side="right") - 1


def denied_entirely(ledger, policy=None) -> np.ndarray:
    """Per grouped procedure: denied entirely (allowed 0 and a live denial of some payer).

    The lines a TAA write-off leaves alone (appealable denials; DOMAIN.md,
    Settled questions 2 and 5). Cached with the ledger's derived data.
    """
    data = derived(ledger, policy)
    out = data.memo.get("taa.denied_entirely")
    if out is None:
        has_denial = np.zeros(data.keys.n_procedures, np.bool_)
        has_denial[_entry_procedure(data, _live_denial_rows(data))] = True
        out = data.memo["taa.denied_entirely"] = has_denial & (data.figures.proc["allowed"] <= 0)
    return out


def _clean_encounters(data: Derived) -> np.ndarray:
    """Per encounter: no live payer denial and no negated payer payment or adjustment."""
    keys = data.keys
    codes = data.codes
    dirty = np.zeros(len(codes), np.bool_)
    dirty[_live_denial_rows(data)] = True
    if len(codes):
        # the column's null flags alone, a row group at a time: the entries stay unread
        negation = valid_flags(data.ledger, "entries", "negates")
        if keys.entry_order is not None:
            negation = negation[keys.entry_order]
        bucket = C.bucket_of(codes)
        negated = ~C.is_live(codes) & ~negation  # negated, not the negation itself
        dirty |= negated & (C.payer_seq_of(codes) >= 1) & (bucket >= C.PAID) & (bucket <= C.OTHER)
    out = np.empty(keys.n_encounters, np.bool_)
    K.clean_encounters_nb(keys.enc_proc_start, keys.proc_entry_start, dirty, out)
    return out


def _sorted_histories(group_of: np.ndarray, allowed: np.ndarray, n_groups: int):
    key = (group_of << ALLOWED_BITS) | np.minimum(allowed, (1 << ALLOWED_BITS) - 1)
    key.sort()
    values = key & ((1 << ALLOWED_BITS) - 1)
    start = np.searchsorted(key >> ALLOWED_BITS, np.arange(n_groups + 1)).astype(np.int64)
    return start, values


def _configurations(data: Derived) -> Configurations:
    f = data.features
    item = (
        ((f.proc_cpt.astype(np.int64) + 1) << 40)
        | ((f.proc_modifiers.astype(np.int64) + 1) << 24)
        | (f.proc_units.astype(np.int64) & 0xFFFFFF)
    )
    payer = (f.enc_payer.astype(np.int64) + 1) << 20
    hashes = np.empty(f.n_encounters, np.uint64)
    group_hashes = np.empty(f.n_encounters, np.uint64)
    K.config_hash_nb(
        f.enc_proc_start,
        item,
        payer | (f.enc_pos.astype(np.int64) + 1),
        payer,
        hashes,
        group_hashes,
        CHUNK,
    )
    _, representative, enc_config = np.unique(hashes, return_index=True, return_inverse=True)
    enc_config = enc_config.astype(np.int64).reshape(-1)
    n_configs = len(representative)
    # Groups from the configurations' representatives: one small unique, not a second pass.
    _, config_group = np.unique(group_hashes[representative], return_inverse=True)
    config_group = config_group.astype(np.int64).reshape(-1)
    n_groups = int(config_group.max()) + 1 if n_configs else 0
    history = (f.enc_class != C.AWAITING) & (f.enc_allowed > 0) & _clean_encounters(data)
    allowed = f.enc_allowed[history]
    config_of = enc_config[history]
    hist_start, hist_values = _sorted_histories(config_of, allowed, n_configs)
    group_start, group_values = _sorted_histories(config_group[config_of], allowed, n_groups)
    return Configurations(
        enc_config,
        n_configs,
        representative,
        hist_start,
        hist_values,
        config_group,
        group_start,
        group_values,
    )


def config_labels(ledger, configs: Configurations | None = None, policy=None) -> list[str]:
    """Readable text of every configuration (see the module docstring).

    ``configs`` only names which ledger's configurations are meant; the text
    depends on the representative encounters, the same for every history.
    """
    return _config_labels(derived(ledger, policy), configs or configurations(ledger, policy))


def _config_labels(data, configs: Configurations) -> list[str]:
    hit = data.memo.get("taa.config_labels")
    if hit is None:
        hit = data.memo["taa.config_labels"] = _labels(data.features, configs)
    return hit


def _labels(f: LedgerFeatures, configs: Configurations) -> list[str]:
    labels = []
    for e in configs.representative:
        payer = f.enc_payer[e]
        pos = f.enc_pos[e]
        items = []
        for p in range(f.enc_proc_start[e], f.enc_proc_start[e + 1]):
            mod = f.proc_modifiers[p]
            text = f.cpt_values[f.proc_cpt[p]]
            if mod >= 0 and f.modifier_values[mod]:
                text += ":" + f.modifier_values[mod]
            items.append(f"{text}x{int(f.proc_units[p])}")
        labels.append(
            "|".join(
                (
                    f.payer_values[payer] if payer >= 0 else "-",
                    f.pos_values[pos] if pos >= 0 else "-",
                    "+".join(sorted(items)),
                )
            )
        )
    return labels
