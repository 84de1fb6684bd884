"""Adjustment rules as data, evaluated over every procedure in one parallel pass.

A :class:`Rule` has a name, a scope (``"global"`` or ``"site"`` with a site
id), an ``enabled`` flag, an ``order``, a condition (:class:`Condition`, the
``when`` table of a rule file) and an action (:class:`Action`, ``then``).

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

Conditions (all given fields must hold; an empty set means "any"):

=================  ============================================================
``payer_ids``      primary payer id (``payer_seq`` 1)
``payer_classes``  primary payer class; ``"self_pay"`` for encounters without one
``group_codes``,   some live adjustment on the procedure (any payer) has a group
``carcs``          code in ``group_codes`` and a CARC in ``carcs``
``cpts``           the procedure's CPT/HCPCS code
``classes``        the encounter class (``ledgerkit.CLASSES``)
``stages``         the encounter stage (``ledgerkit.STAGES``)
``balance_min``,   the encounter balance, cents, inclusive
``balance_max``
``age_from``       ``"service"`` (procedure service date) or ``"last_remit"``
                   (latest remit posted on the encounter; none: no match), with
                   ``age_min_days`` / ``age_max_days`` (inclusive) as of the run
``allowed_vs_taa`` ``">="`` or ``"<"``: the encounter's allowed amount against
                   ``taa_fraction`` x its target allowed amount (TAA at
                   ``taa_percentile`` of its configuration's history, needing
                   ``taa_min_claims`` claims; no TAA: no match)
=================  ============================================================

Actions (the ``then`` table): ``write_off`` (``target`` ``"payer_balance"``,
``"pr"`` or ``"balance"`` = both; ``group`` and ``reason`` are recorded on the
entry), ``transfer_to_pr`` (the payer balance moves to patient responsibility),
``flag`` (listed for review, no entry) and ``leave`` (matched, nothing done).
Payer-balance entries carry the ``payer_seq`` of the payer that owes it (the
last that adjudicated, or the primary); patient-responsibility write-offs
carry ``payer_seq`` 0.

Rule files are TOML (read with the standard library's ``tomllib``; written by
the small serializer here, so no new dependency: the format is flat tables
of strings, numbers, booleans and lists of strings).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pyarrow as pa

from ledgerkit._features import LedgerFeatures, ledger_features
from ledgerkit._kernels import rules as K
from ledgerkit._kernels.codes import CLASS_NAMES, STAGE_NAMES
from ledgerkit.errors import LedgerError
from ledgerkit.schema import GROUP_CODES, KINDS, PAYER_CLASSES

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

ACTIONS = ("write_off", "transfer_to_pr", "flag", "leave")
TARGETS = ("payer_balance", "pr", "balance")
AGE_FROM = ("service", "last_remit")
TAA_OPS = (">=", "<")
SCOPES = ("global", "site")
ACTOR = "ledgerkit rules"
_WRITE_OFF = KINDS.index("write_off")
_TRANSFER = KINDS.index("transfer_to_pr")
_BIG = 1 << 62


class RuleError(LedgerError):
    """A rule or rule file is invalid; the message names the rule and the field."""


def _fail(rule: str, name: str, why: str):
    raise RuleError(f"rule {rule!r}, field {name!r}: {why}")


def _strings(rule, name, value, allowed=None) -> tuple:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        _fail(rule, name, f"expected a list of strings, got {value!r}")
    if allowed is not None:
        for v in value:
            if v not in allowed:
                _fail(rule, name, f"{v!r} is not one of {list(allowed)}")
    return tuple(v.strip() for v in value)


def _int(rule, name, value, lo=None):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        hint = " (money is integer cents)" if "balance" in name else ""
        _fail(rule, name, f"expected an integer, got {value!r}{hint}")
    if lo is not None and value < lo:
        _fail(rule, name, f"must be >= {lo}, got {value}")
    return value


def _number(rule, name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        _fail(rule, name, f"expected a number, got {value!r}")
    if not lo <= value <= hi:
        _fail(rule, name, f"must be between {lo} and {hi}, got {value}")
    return float(value)


@dataclass(frozen=True)
class Condition:
    """When a rule applies (see the module docstring for each field).

    Examples
    --------
    >>> Condition(payer_classes=["medicare"], stages=["patient"]).payer_classes
    ('medicare',)
    """

    payer_ids: tuple = ()
    payer_classes: tuple = ()
    group_codes: tuple = ()
    carcs: tuple = ()
    cpts: tuple = ()
    classes: tuple = ()
    stages: tuple = ()
    balance_min: int | None = None
    balance_max: int | None = None
    age_from: str | None = None
    age_min_days: int | None = None
    age_max_days: int | None = None
    allowed_vs_taa: str | None = None
    taa_percentile: float = 50.0
    taa_fraction: float = 1.0
    taa_min_claims: int = 5

    def __post_init__(self):
        self.check("?")

    def check(self, rule: str) -> None:
        """Validate and normalise every field; errors name ``rule`` and the field."""
        s = functools.partial(object.__setattr__, self)
        w = "when."
        s("payer_ids", _strings(rule, w + "payer_ids", self.payer_ids))
        s(
            "payer_classes",
            _strings(rule, w + "payer_classes", self.payer_classes, PAYER_CLASSES),
        )
        s("group_codes", _strings(rule, w + "group_codes", self.group_codes, GROUP_CODES))
        s("carcs", _strings(rule, w + "carcs", self.carcs))
        s("cpts", _strings(rule, w + "cpts", self.cpts))
        s("classes", _strings(rule, w + "classes", self.classes, CLASS_NAMES))
        s("stages", _strings(rule, w + "stages", self.stages, STAGE_NAMES))
        lo = _int(rule, w + "balance_min", self.balance_min)
        hi = _int(rule, w + "balance_max", self.balance_max)
        if lo is not None and hi is not None and lo > hi:
            _fail(rule, w + "balance_max", f"{hi} is below balance_min {lo}")
        if self.age_from is not None and self.age_from not in AGE_FROM:
            _fail(rule, w + "age_from", f"{self.age_from!r} is not one of {list(AGE_FROM)}")
        amin = _int(rule, w + "age_min_days", self.age_min_days)
        amax = _int(rule, w + "age_max_days", self.age_max_days)
        if (amin is not None or amax is not None) and self.age_from is None:
            _fail(rule, w + "age_from", "set age_from ('service' or 'last_remit') to use ages")
        if amin is not None and amax is not None and amin > amax:
            _fail(rule, w + "age_max_days", f"{amax} is below age_min_days {amin}")
        if self.allowed_vs_taa is not None and self.allowed_vs_taa not in TAA_OPS:
            _fail(
                rule,
                w + "allowed_vs_taa",
                f"{self.allowed_vs_taa!r} is not one of {list(TAA_OPS)}",
            )
        s("taa_percentile", _number(rule, w + "taa_percentile", self.taa_percentile, 0, 100))
        s("taa_fraction", _number(rule, w + "taa_fraction", self.taa_fraction, 0, 100))
        _int(rule, w + "taa_min_claims", self.taa_min_claims, lo=1)


@dataclass(frozen=True)
class Action:
    """What a rule does: ``write_off`` (with ``target``), ``transfer_to_pr``, ``flag``, ``leave``.

    ``group`` and ``reason`` (a CARC) are recorded on the proposed entries.

    Examples
    --------
    >>> Action("write_off", target="pr").group
    'CO'
    """

    action: str = "flag"
    target: str = "payer_balance"
    group: str | None = None
    reason: str | None = None

    def __post_init__(self):
        self.check("?")

    def check(self, rule: str) -> None:
        if self.action not in ACTIONS:
            _fail(rule, "then.action", f"{self.action!r} is not one of {list(ACTIONS)}")
        if self.target not in TARGETS:
            _fail(rule, "then.target", f"{self.target!r} is not one of {list(TARGETS)}")
        if self.action == "transfer_to_pr" and self.target != "payer_balance":
            _fail(rule, "then.target", "transfer_to_pr always moves the payer balance")
        group = self.group or ("PR" if self.action == "transfer_to_pr" else "CO")
        if group not in GROUP_CODES:
            _fail(rule, "then.group", f"{group!r} is not one of {list(GROUP_CODES)}")
        reason = self.reason or ("204" if self.action == "transfer_to_pr" else "A2")
        if not isinstance(reason, str) or not reason.strip():
            _fail(rule, "then.reason", f"expected a CARC string such as 'A2', got {reason!r}")
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "reason", reason.strip())


@dataclass(frozen=True)
class Rule:
    """One named adjustment rule.

    Examples
    --------
    >>> rule = Rule("tiny", when=Condition(balance_min=1, balance_max=99),
    ...             then=Action("write_off", target="balance"))
    >>> rule.scope, rule.enabled
    ('global', True)
    >>> Rule("bad", when=Condition(), then=Action(), scope="site")
    Traceback (most recent call last):
    ...
    ledgerkit.rules.RuleError: rule 'bad', field 'site': a site rule needs a site id
    """

    name: str
    when: Condition = field(default_factory=Condition)
    then: Action = field(default_factory=Action)
    scope: str = "global"
    site: str | None = None
    enabled: bool = True
    order: int = 0
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise RuleError(f"rule {self.name!r}, field 'name': a rule needs a non-empty name")
        name = self.name
        if not isinstance(self.when, Condition):
            _fail(name, "when", f"expected a Condition, got {type(self.when).__name__}")
        if not isinstance(self.then, Action):
            _fail(name, "then", f"expected an Action, got {type(self.then).__name__}")
        self.when.check(name)
        self.then.check(name)
        if self.scope not in SCOPES:
            _fail(name, "scope", f"{self.scope!r} is not one of {list(SCOPES)}")
        if self.scope == "site" and not self.site:
            _fail(name, "site", "a site rule needs a site id")
        if self.scope == "global" and self.site:
            _fail(name, "site", "a global rule has no site (use scope = 'site')")
        if not isinstance(self.enabled, bool):
            _fail(name, "enabled", f"expected true or false, got {self.enabled!r}")
        _int(name, "order", self.order)
        if not isinstance(self.description, str):
            _fail(name, "description", f"expected a string, got {self.description!r}")

    @classmethod
    def from_dict(cls, data: dict, position: int = 0) -> Rule:
        """Build a rule from one ``[[rule]]`` table; errors name the rule and field."""
        if not isinstance(data, dict):
            raise RuleError(f"rule #{position + 1}: expected a table, got {data!r}")
        name = data.get("name", f"#{position + 1}")
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                _fail(name, key, f"unknown field (expected one of {sorted(known)})")
        when = data.get("when", {})
        then = data.get("then", {})
        for label, part, kind in (("when", when, Condition), ("then", then, Action)):
            if not isinstance(part, dict):
                _fail(name, label, f"expected a table, got {part!r}")
            allowed = {f.name for f in fields(kind)}
            for key in part:
                if key not in allowed:
                    _fail(
                        name,
                        f"{label}.{key}",
                        f"unknown field (expected one of {sorted(allowed)})",
                    )
        if "name" not in data:
            raise RuleError(f"rule #{position + 1}, field 'name': missing")
        try:
            cond = Condition.__new__(Condition)
            _init_unchecked(cond, Condition, when)
            act = Action.__new__(Action)
            _init_unchecked(act, Action, then)
            rest = {k: v for k, v in data.items() if k not in ("when", "then")}
            return cls(when=cond, then=act, **rest)
        except TypeError as exc:  # pragma: no cover - guarded by the key checks above
            raise RuleError(f"rule {name!r}: {exc}") from None

    def to_dict(self) -> dict:
        """Plain data (only fields that differ from the defaults in ``when``)."""
        default = asdict(Condition())
        when = {k: v for k, v in asdict(self.when).items() if v != default[k]}
        if self.when.allowed_vs_taa is not None:  # keep the TAA parameters explicit
            for k in ("taa_percentile", "taa_fraction", "taa_min_claims"):
                when[k] = getattr(self.when, k)
        out = {"name": self.name, "scope": self.scope}
        if self.site:
            out["site"] = self.site
        out.update(enabled=self.enabled, order=self.order)
        if self.description:
            out["description"] = self.description
        out["when"] = {k: list(v) if isinstance(v, tuple) else v for k, v in when.items()}
        out["then"] = {k: v for k, v in asdict(self.then).items()}
        if self.then.action != "write_off":
            del out["then"]["target"]
        return out


def _init_unchecked(obj, cls, data):
    """Set dataclass fields from ``data`` (defaults for the rest) without validating."""
    for f in fields(cls):
        if f.name in data:
            value = data[f.name]
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            value = f.default
        object.__setattr__(obj, f.name, value)


@dataclass(frozen=True)
class RuleSet:
    """An ordered collection of uniquely named rules.

    Examples
    --------
    >>> rules = default_rules()
    >>> [r.name for r in rules.evaluation_order()][:2]
    ['medicare_pr_write_off', 'noncovered_to_pr']
    >>> rules.with_rule(Rule("review_all", then=Action("flag"))).names()[-1]
    'review_all'
    """

    rules: tuple = ()

    def __post_init__(self):
        rules = tuple(self.rules)
        seen = set()
        for i, r in enumerate(rules):
            if not isinstance(r, Rule):
                raise RuleError(f"rule #{i + 1}: expected a Rule, got {type(r).__name__}")
            if r.name in seen:
                raise RuleError(f"rule {r.name!r}, field 'name': two rules have this name")
            seen.add(r.name)
        object.__setattr__(self, "rules", rules)

    def __iter__(self):
        return iter(self.rules)

    def __len__(self):
        return len(self.rules)

    def __getitem__(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    def evaluation_order(self) -> list[Rule]:
        """Enabled rules as they run: site rules, then global; by ``order``, then position."""
        ranked = [
            (0 if r.scope == "site" else 1, r.order, i, r)
            for i, r in enumerate(self.rules)
            if r.enabled
        ]
        return [t[-1] for t in sorted(ranked, key=lambda t: t[:3])]

    def with_rule(self, rule: Rule) -> RuleSet:
        """A new set with ``rule`` added, or replacing the rule of the same name."""
        rules = [r for r in self.rules if r.name != rule.name]
        return RuleSet(tuple(rules) + (rule,))

    def enable(self, name: str, enabled: bool = True) -> RuleSet:
        """A new set with one rule switched on or off."""
        return RuleSet(
            tuple(
                dataclasses.replace(r, enabled=enabled) if r.name == name else r
                for r in self.rules
            )
        )

    @classmethod
    def from_dict(cls, data: dict) -> RuleSet:
        rules = data.get("rule", [])
        if not isinstance(rules, list):
            raise RuleError(
                f"rule file: 'rule' must be an array of tables ([[rule]]), got {rules!r}"
            )
        extra = set(data) - {"rule"}
        if extra:
            raise RuleError(f"rule file: unknown top-level keys {sorted(extra)} (only [[rule]])")
        return cls(tuple(Rule.from_dict(r, i) for i, r in enumerate(rules)))

    def to_toml(self) -> str:
        """The rule set as TOML text (``load_rules`` reads it back)."""
        out = ["# ledgerkit adjustment rules: see ledgerkit.rules for every field", ""]
        for r in self.rules:
            d = r.to_dict()
            out.append("[[rule]]")
            for k, v in d.items():
                if k not in ("when", "then"):
                    out.append(f"{k} = {_toml_value(v)}")
            for part in ("when", "then"):
                out.append(f"[rule.{part}]")
                for k, v in d[part].items():
                    if v is not None:
                        out.append(f"{k} = {_toml_value(v)}")
            out.append("")
        return "\n".join(out)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic strings
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def load_rules(path_or_text) -> RuleSet:
    """Read a TOML rule file (a path, or the TOML text itself).

    Raises
    ------
    RuleError
        Invalid TOML (with the line), or a rule whose field is wrong; the
        message names the rule and the field.

    Examples
    --------
    >>> rules = load_rules('''
    ... [[rule]]
    ... name = "tiny"
    ... [rule.when]
    ... balance_max = "5.00"
    ... ''')
    Traceback (most recent call last):
    ...
    ledgerkit.rules.RuleError: rule 'tiny', field 'when.balance_max': expected an integer, ...
    """
    if isinstance(path_or_text, Path) or (
        isinstance(path_or_text, str) and "\n" not in path_or_text and "=" not in path_or_text
    ):
        path = Path(path_or_text)
        text = path.read_text(encoding="utf-8")
        where = str(path)
    else:
        text = str(path_or_text)
        where = "rule text"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{where}: not valid TOML: {exc}") from None
    return RuleSet.from_dict(data)


def save_rules(rules: RuleSet, path) -> Path:
    """Write ``rules`` as TOML to ``path``."""
    path = Path(path)
    path.write_text(rules.to_toml(), encoding="utf-8")
    return path


def default_rules() -> RuleSet:
    """The shipped global rules (from the source guides), each documented.

    1. ``medicare_pr_write_off``: write off the patient responsibility of
       encounters whose primary payer is Medicare once they reach the patient
       stage (so a secondary payer is billed first).
    2. ``noncovered_to_pr``: push procedures denied as non-covered (CARC 96,
       204) to patient responsibility.
    3. ``taa_write_off`` (disabled until TAAs are reviewed): when an
       encounter's allowed amount reaches the 25th percentile of its claim
       configuration's history (at least 10 claims), write off the rest of the
       payer balance.
    4. ``small_balance``: write off encounters whose whole balance is under
       $5.00 (1..499 cents).

    Examples
    --------
    >>> [(r.name, r.enabled) for r in default_rules()]  # doctest: +NORMALIZE_WHITESPACE
    [('medicare_pr_write_off', True), ('noncovered_to_pr', True),
     ('taa_write_off', False), ('small_balance', True)]
    """
    return RuleSet(
        (
            Rule(
                "medicare_pr_write_off",
                when=Condition(payer_classes=("medicare",), stages=("patient",)),
                then=Action("write_off", target="pr", group="CO", reason="A2"),
                order=10,
                description="Write off PR if the patient's primary insurance is Medicare.",
            ),
            Rule(
                "noncovered_to_pr",
                when=Condition(carcs=("96", "204")),
                then=Action("transfer_to_pr", group="PR", reason="96"),
                order=20,
                description="Push procedures with a non-covered CARC (96, 204) to PR.",
            ),
            Rule(
                "taa_write_off",
                when=Condition(
                    allowed_vs_taa=">=", taa_percentile=25.0, taa_fraction=1.0, taa_min_claims=10
                ),
                then=Action("write_off", target="payer_balance", group="CO", reason="45"),
                enabled=False,
                order=30,
                description="Allowed at or above the target allowed amount: write off the rest.",
            ),
            Rule(
                "small_balance",
                when=Condition(balance_min=1, balance_max=499),
                then=Action("write_off", target="balance", group="CO", reason="A2"),
                order=90,
                description="Write off encounter balances under $5.00.",
            ),
        )
    )


# --------------------------------------------------------------------- compile
@dataclass
class CompiledRules:
    """A rule set as the kernel's arrays, for one ledger's dictionaries."""

    rules: list  # evaluation order
    r_int: np.ndarray
    tables: dict
    enc_taa: np.ndarray

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


def compile_rules(rules: RuleSet, feats: LedgerFeatures, ledger, taa=None) -> CompiledRules:
    """Turn ``rules`` into lookup tables over ``ledger``'s dictionary codes."""
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
        from ledgerkit import taa as taa_module

        for (pct, min_claims), v in variants.items():
            enc_taa[v] = taa_module.encounter_taa(
                ledger, percentile=pct, min_claims=min_claims, taa=taa
            )
    return CompiledRules(order, r_int, t, enc_taa)


# --------------------------------------------------------------------- run
def _as_of_day(as_of, feats: LedgerFeatures) -> int:
    if as_of is None:
        return feats.latest_day
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of[:10])
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if not isinstance(as_of, dt.date):
        raise TypeError(f"as_of must be a date, datetime or ISO string, got {as_of!r}")
    return (as_of - dt.date(1970, 1, 1)).days


def evaluate(ledger, rules: RuleSet, *, as_of=None, policy=None, taa=None):
    """Run the kernel: (compiled rules, features, per-procedure and per-encounter outputs)."""
    feats = ledger_features(ledger, policy)
    compiled = compile_rules(rules, feats, ledger, taa)
    n_proc, n_enc = feats.n_procedures, feats.n_encounters
    n_rules = len(compiled.rules)
    proc_rule = np.empty(n_proc, np.int32)
    from_payer = np.empty(n_proc, np.int64)
    from_pr = np.empty(n_proc, np.int64)
    closed_by = np.empty(n_enc, np.int32)
    n_chunks = (n_enc + K.CHUNK - 1) // K.CHUNK
    acc = np.zeros((n_chunks, n_rules, K.N_S), np.int64)
    if n_rules == 0:
        proc_rule[:] = -1
        from_payer[:] = 0
        from_pr[:] = 0
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
            closed_by,
            acc,
        )
    return compiled, feats, proc_rule, from_payer, from_pr, closed_by, acc.sum(axis=0)


class DryRun:
    """What a rule set would do to a ledger, without posting anything.

    Attributes
    ----------
    summary : pyarrow.Table
        One row per rule (evaluation order, then disabled rules): ``rule``,
        ``position`` (evaluation rank, null when disabled), ``enabled``,
        ``scope``, ``site``, ``action``, ``procedures`` and ``encounters`` hit,
        ``written_off_cents``, ``to_pr_cents`` and ``encounters_closed``
        (encounters the proposals bring to a zero balance, credited to the first
        rule, in evaluation order, that writes off on them).
    entries : pyarrow.Table
        The proposed entries (built on first access): ``encounter_id``,
        ``line``, ``payer_seq``, ``kind``, ``group_code``, ``carc``,
        ``amount_cents``, ``source`` (``"rule"``), ``rule_id``, ``actor``, ``note``.
    hits : pyarrow.Table
        One row per procedure a rule matched: ``rule``, ``action``,
        ``amount_cents``, ``from_bucket`` and ``to_bucket`` (the bucket moved).
    """

    def __init__(self, ledger, rules, compiled, feats, proc_rule, from_payer, from_pr, totals):
        self.ledger = ledger
        self.rules = rules
        self._compiled = compiled
        self._feats = feats
        self.proc_rule = proc_rule
        self.from_payer = from_payer
        self.from_pr = from_pr
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
    names = ("procedures", "encounters", "written_off_cents", "to_pr_cents", "encounters_closed")
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
            "note": pa.nulls(n, pa.string()),
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
    return pa.table(
        {
            "encounter_id": run.ledger.procedures["encounter_id"].take(
                pa.array(keys.proc_rows(hit))
            ),
            "line": pa.array(keys.proc_line[hit], pa.int32()),
            "rule": _per_rule(rule, [r.name for r in order]),
            "action": _per_rule(rule, [r.then.action for r in order]),
            "amount_cents": pa.array(run.from_payer[hit] + run.from_pr[hit], pa.int64()),
            "from_bucket": _per_rule(rule, [m[0] for m in moves]),
            "to_bucket": _per_rule(rule, [m[1] for m in moves]),
        }
    )


def _as_rule_set(rules) -> RuleSet:
    if rules is None:
        return default_rules()
    if isinstance(rules, RuleSet):
        return rules
    if isinstance(rules, Rule):
        return RuleSet((rules,))
    if isinstance(rules, list | tuple):
        return RuleSet(tuple(rules))
    if isinstance(rules, str | Path):
        return load_rules(rules)
    raise TypeError(
        f"rules must be a RuleSet, a list of Rule, or a TOML path, got {type(rules).__name__}"
    )


def dry_run(ledger, rules=None, *, as_of=None, policy=None, taa=None) -> DryRun:
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
    >>> int(run.entries["amount_cents"].to_numpy().sum()) == int(
    ...     run.summary["written_off_cents"].to_numpy().sum()
    ...     + run.summary["to_pr_cents"].to_numpy().sum())
    True
    """
    rules = _as_rule_set(rules)
    compiled, feats, proc_rule, from_payer, from_pr, _, totals = evaluate(
        ledger, rules, as_of=as_of, policy=policy, taa=taa
    )
    return DryRun(ledger, rules, compiled, feats, proc_rule, from_payer, from_pr, totals)


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
