"""Target allowed amounts (TAA): claim configurations and their allowed-amount history.

A claim configuration (DOMAIN.md, "Target allowed amounts") is the multiset
of an encounter's procedures (CPT + modifiers + units), its primary payer and
its place of service. Its history is the allowed amounts (``classify``'s
``allowed``: payments + last payer's PR-1/2/3) of the encounters of that
configuration that a payer adjudicated with allowed > 0; denials (allowed 0)
and encounters awaiting a remit are left out.

Percentiles use the "lower" rule: the ``p``-th percentile of ``n`` sorted
amounts is the one at position ``floor((n - 1) * p / 100)``, so a TAA is
always an amount some payer actually allowed.

Configuration text, as shown in ``config``: ``payer|place of service|items``
with items ``CPT[:modifiers]xunits`` sorted and joined by ``+``; self-pay
and missing place of service show as ``-``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels import taa as K
from ledgerkit._kernels.codes import AWAITING
from ledgerkit.analytics.derived import LedgerFeatures, derived
from ledgerkit.core.arrow import numpy_array
from ledgerkit.errors import LedgerError

__all__ = [
    "Configurations",
    "check_percentile",
    "history_percentiles",
    "config_labels",
    "configurations",
    "encounter_taa",
    "suggest_taa",
    "taa_history",
    "with_history",
]

ALLOWED_BITS = 40  # allowed amounts below 2**40 cents (~11 billion dollars): key packing
CHUNK = 16384


@dataclass(frozen=True)
class Configurations:
    """Dense configuration ids of a ledger's encounters and each one's sorted history."""

    enc_config: np.ndarray  # int64 per encounter
    n_configs: int
    representative: np.ndarray  # first encounter of each configuration
    hist_start: np.ndarray  # int64[n_configs + 1] offsets into hist_values
    hist_values: np.ndarray  # int64 allowed amounts, sorted within each configuration

    def counts(self) -> np.ndarray:
        return np.diff(self.hist_start)

    def percentile(self, percentile: float, min_claims: int) -> np.ndarray:
        """The TAA of every configuration: the "lower" ``percentile`` of its history.

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
    """
    out = np.empty(len(start) - 1, np.int64)
    K.taa_of_configs_nb(start, values, float(percentile), int(min_claims), out)
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
    """Configuration of every encounter and the allowed history (cached with the ledger's
    derived data).

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
        own = data.memo["taa.configurations"] = _configurations(data.features)
    if history is None:
        return own
    return with_history(own, _config_labels(data, own), history)


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
        every configuration of the whole ledger (``ledgerkit.scale.taa``).

    Returns
    -------
    Configurations
        A new object (``configs`` is not changed): the same configuration ids,
        the global histories (empty for a configuration the history lacks).
    """
    labels = pa.array(labels, pa.string())
    pos = numpy_array(pc.index_in(labels, value_set=history.labels), fill=-1, dtype=np.int64)
    found = pos[pos >= 0]
    lo = np.zeros(len(pos), np.int64)
    counts = np.zeros(len(pos), np.int64)
    lo[pos >= 0] = history.start[found]
    counts[pos >= 0] = history.start[found + 1] - history.start[found]
    start = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    idx = np.arange(int(start[-1]), dtype=np.int64) + np.repeat(lo - start[:-1], counts)
    return dataclasses.replace(configs, hist_start=start, hist_values=history.values[idx])


def _configurations(f: LedgerFeatures) -> Configurations:
    n_enc = f.n_encounters
    item = (
        ((f.proc_cpt.astype(np.int64) + 1) << 40)
        | ((f.proc_modifiers.astype(np.int64) + 1) << 24)
        | (f.proc_units.astype(np.int64) & 0xFFFFFF)
    )
    context = ((f.enc_payer.astype(np.int64) + 1) << 20) | (f.enc_pos.astype(np.int64) + 1)
    hashes = np.empty(n_enc, np.uint64)
    K.config_hash_nb(f.enc_proc_start, item, context, hashes, CHUNK)
    _, representative, enc_config = np.unique(hashes, return_index=True, return_inverse=True)
    enc_config = enc_config.astype(np.int64).reshape(-1)
    n_configs = len(representative)
    history = (f.enc_class != AWAITING) & (f.enc_allowed > 0)
    allowed = np.minimum(f.enc_allowed[history], (1 << ALLOWED_BITS) - 1)
    key = (enc_config[history] << ALLOWED_BITS) | allowed
    key.sort()
    hist_values = key & ((1 << ALLOWED_BITS) - 1)
    hist_start = np.searchsorted(key >> ALLOWED_BITS, np.arange(n_configs + 1)).astype(np.int64)
    return Configurations(enc_config, n_configs, representative, hist_start, hist_values)


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


def suggest_taa(ledger, percentile: float = 50.0, min_claims: int = 10) -> pa.Table:
    """A suggested TAA per configuration: a percentile of its allowed history.

    Parameters
    ----------
    percentile : float
        0..100; lower percentiles close more encounters and write off more.
    min_claims : int
        Configurations with fewer claims in history get no TAA.

    Returns
    -------
    pyarrow.Table
        ``config``, ``payer_id``, ``place_of_service``, ``claims``, ``taa_cents``.
        Pass it (edited or not) as ``taa=`` to ``ledgerkit.rules.dry_run``.

    Raises
    ------
    ValueError
        ``percentile`` outside 0..100 or ``min_claims`` below 1.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> table = suggest_taa(lk.synth.generate(800, seed=2), percentile=25, min_claims=5)
    >>> all(cents > 0 for cents in table["taa_cents"].to_pylist())
    True
    """
    check_percentile(percentile, min_claims)
    configs = configurations(ledger)
    taa = configs.percentile(percentile, int(min_claims))
    selected = np.flatnonzero(taa >= 0)
    counts = configs.counts()
    selected = selected[np.argsort(-counts[selected], kind="stable")]
    cols = _config_columns(ledger, configs, selected)
    cols["claims"] = pa.array(counts[selected], pa.int64())
    cols["taa_cents"] = pa.array(taa[selected], pa.int64())
    return pa.table(cols)


def config_taa(ledger, percentile: float, min_claims: int, taa=None, *, history=None):
    """TAA of every configuration id (-1 none), from history or from a ``taa`` table.

    ``history`` (a ``GlobalHistory``) replaces the ledger's own allowed history.
    """
    return _taa_per_config(
        ledger, configurations(ledger, history=history), percentile, min_claims, taa
    )


def _taa_per_config(ledger, configs, percentile, min_claims, taa) -> np.ndarray:
    if taa is None:
        check_percentile(percentile, min_claims)
        return configs.percentile(percentile, int(min_claims))
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
    ledger, *, percentile: float, min_claims: int, taa=None, history=None
) -> np.ndarray:
    """TAA of every encounter (int64 cents, -1 when its configuration has none).

    ``taa`` is a table of TAAs to use (``suggest_taa``'s columns); ``history``
    (a ``GlobalHistory``) replaces the ledger's own allowed history.
    """
    configs = configurations(ledger, history=history)
    per_config = _taa_per_config(ledger, configs, percentile, min_claims, taa)
    if configs.n_configs == 0:
        return np.empty(len(configs.enc_config), np.int64)
    return per_config[configs.enc_config]
