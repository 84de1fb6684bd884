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

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import taa as K
from ledgerkit._kernels.codes import AWAITING
from ledgerkit.analytics.features import LedgerFeatures, ledger_features
from ledgerkit.errors import LedgerError

__all__ = ["Configurations", "configurations", "taa_history", "suggest_taa", "encounter_taa"]

_ALLOWED_BITS = 40  # allowed amounts below 2**40 cents (~11 billion dollars)
CHUNK = 16384


@dataclass
class Configurations:
    """Dense configuration ids of a ledger's encounters and each one's sorted history."""

    enc_config: np.ndarray  # int64 per encounter
    n_configs: int
    representative: np.ndarray  # first encounter of each configuration
    hist_start: np.ndarray  # int64[n_configs + 1] offsets into hist_values
    hist_values: np.ndarray  # int64 allowed amounts, sorted within each configuration
    _labels: list | None = None

    def counts(self) -> np.ndarray:
        return np.diff(self.hist_start)


def configurations(ledger, policy=None) -> Configurations:
    """Configuration of every encounter and the allowed history (cached on the ledger).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> configs = configurations(lk.synth.generate(200, seed=2))
    >>> len(configs.enc_config), int(configs.counts().sum()) <= 200
    (200, True)
    """
    feats = ledger_features(ledger, policy)
    hit = feats.cache.get("configs")
    if hit is None:
        hit = _configurations(feats)
        feats.cache["configs"] = hit
    return hit


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
    allowed = np.minimum(f.enc_allowed[history], (1 << _ALLOWED_BITS) - 1)
    key = (enc_config[history] << _ALLOWED_BITS) | allowed
    key.sort()
    hist_values = key & ((1 << _ALLOWED_BITS) - 1)
    hist_start = np.searchsorted(key >> _ALLOWED_BITS, np.arange(n_configs + 1)).astype(np.int64)
    return Configurations(enc_config, n_configs, representative, hist_start, hist_values)


def config_labels(ledger, configs: Configurations | None = None, policy=None) -> list[str]:
    """Readable text of every configuration (see the module docstring)."""
    configs = configs or configurations(ledger, policy)
    if configs._labels is not None:
        return configs._labels
    f = ledger_features(ledger, policy)
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
    configs._labels = labels
    return labels


def _config_columns(ledger, configs, selected: np.ndarray) -> dict:
    f = ledger_features(ledger)
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


def _percentile_of(configs: Configurations, percentile: float, min_claims: int) -> np.ndarray:
    out = np.empty(configs.n_configs, np.int64)
    K.taa_of_configs_nb(
        configs.hist_start, configs.hist_values, float(percentile), min_claims, out
    )
    return out


def _check(percentile, min_claims):
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be between 0 and 100, got {percentile}")
    if int(min_claims) != min_claims or min_claims < 1:
        raise ValueError(f"min_claims must be an integer >= 1, got {min_claims!r}")


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
    _check(50, min_claims)
    configs = configurations(ledger)
    counts = configs.counts()
    selected = np.flatnonzero(counts >= min_claims)
    selected = selected[np.argsort(-counts[selected], kind="stable")]
    cols = _config_columns(ledger, configs, selected)
    cols["claims"] = pa.array(counts[selected], pa.int64())
    cols["min_cents"] = pa.array(_percentile_of(configs, 0, 1)[selected])
    for p in percentiles:
        _check(p, 1)
        label = f"{p:g}".replace(".", "_")
        cols[f"p{label}_cents"] = pa.array(_percentile_of(configs, p, 1)[selected])
    cols["max_cents"] = pa.array(_percentile_of(configs, 100, 1)[selected])
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
    _check(percentile, min_claims)
    configs = configurations(ledger)
    taa = _percentile_of(configs, percentile, int(min_claims))
    selected = np.flatnonzero(taa >= 0)
    counts = configs.counts()
    selected = selected[np.argsort(-counts[selected], kind="stable")]
    cols = _config_columns(ledger, configs, selected)
    cols["claims"] = pa.array(counts[selected], pa.int64())
    cols["taa_cents"] = pa.array(taa[selected], pa.int64())
    return pa.table(cols)


def config_taa(ledger, percentile: float, min_claims: int, taa=None) -> np.ndarray:
    """TAA of every configuration id (-1 none), from history or from a ``taa`` table."""
    configs = configurations(ledger)
    if taa is None:
        _check(percentile, min_claims)
        return _percentile_of(configs, percentile, int(min_claims))
    for name in ("config", "taa_cents"):
        if name not in taa.column_names:
            raise LedgerError(f"taa table: missing column {name!r} (see suggest_taa)")
    given = dict(zip(taa["config"].to_pylist(), taa["taa_cents"].to_pylist(), strict=True))
    labels = config_labels(ledger, configs)
    return np.array(
        [-1 if given.get(label) is None else int(given[label]) for label in labels] or [],
        np.int64,
    )


def encounter_taa(ledger, *, percentile: float, min_claims: int, taa=None) -> np.ndarray:
    """TAA of every encounter (int64 cents, -1 when its configuration has none)."""
    configs = configurations(ledger)
    per_config = config_taa(ledger, percentile, min_claims, taa)
    if configs.n_configs == 0:
        return np.empty(len(configs.enc_config), np.int64)
    return per_config[configs.enc_config]
