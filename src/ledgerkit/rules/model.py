"""Adjustment rules as data: conditions, actions, rule sets and their TOML files.

A :class:`Rule` has a name, a scope (``"global"`` or ``"site"`` with a site
id), an ``enabled`` flag, an ``order``, a condition (:class:`Condition`, the
``when`` table of a rule file) and an action (:class:`Action`, ``then``).

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
                   ``taa_min_claims`` claims; no TAA: no match). Such a rule
                   never writes off or transfers a line denied entirely
                   (allowed 0 with a live denial: appealable) unless
                   ``taa_includes_denied_lines`` is true (default false)
=================  ============================================================

Actions (the ``then`` table): ``write_off`` (``target`` ``"payer_balance"``,
``"pr"`` or ``"balance"`` = both; ``group`` and ``reason`` are recorded on the
entry), ``transfer_to_pr`` (the payer balance moves to patient responsibility),
``flag`` (listed for review, no entry) and ``leave`` (matched, nothing done).
Payer-balance entries carry the ``payer_seq`` of the payer that owes it (the
last that adjudicated, or the primary); patient-responsibility write-offs
carry ``payer_seq`` 0.

``amount`` says how much a payer-balance movement asks for: ``"all"`` (the
whole bucket ``target`` names) or ``"matched"`` (only the live adjustments
that satisfy the rule's ``group_codes`` / ``carcs`` and still sit in the
payer balance: denied or other amounts of any payer, PR of an earlier payer).
Either way the movement is capped by what is open (DOMAIN, Settled question
3) and the dry run says where the cap bit.

The group code decides who is liable (Settled question 4): a push to PR that
names CARCs must also name the group codes it moves (``group_codes =
["PR"]``); CO is the provider's obligation.

Rule files are TOML (read with the standard library's ``tomllib``; written by
the small serializer here, so no new dependency: the format is flat tables
of strings, numbers, booleans and lists of strings).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ledgerkit._kernels.codes import CLASS_NAMES, STAGE_NAMES
from ledgerkit.core.schema import GROUP_CODES, PAYER_CLASSES
from ledgerkit.errors import LedgerError

__all__ = [
    "Action",
    "Condition",
    "Rule",
    "RuleError",
    "RuleSet",
    "as_rule_set",
    "default_rules",
    "load_rules",
    "save_rules",
]

ACTIONS = ("write_off", "transfer_to_pr", "flag", "leave")
TARGETS = ("payer_balance", "pr", "balance")
AGE_FROM = ("service", "last_remit")
TAA_OPS = (">=", "<")
AMOUNTS = ("all", "matched")
SCOPES = ("global", "site")


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
    taa_includes_denied_lines: bool = False

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
        if not isinstance(self.taa_includes_denied_lines, bool):
            _fail(
                rule,
                w + "taa_includes_denied_lines",
                f"expected true or false, got {self.taa_includes_denied_lines!r}",
            )


@dataclass(frozen=True)
class Action:
    """What a rule does: ``write_off`` (with ``target``), ``transfer_to_pr``, ``flag``, ``leave``.

    ``group`` and ``reason`` (a CARC) are recorded on the proposed entries;
    ``amount`` is ``"all"`` (the bucket ``target`` names) or ``"matched"``
    (only the adjustments the rule's group/CARC condition matched).

    Examples
    --------
    >>> Action("write_off", target="pr").group
    'CO'
    >>> Action("transfer_to_pr", amount="matched").reason
    '204'
    """

    action: str = "flag"
    target: str = "payer_balance"
    group: str | None = None
    reason: str | None = None
    amount: str = "all"

    def __post_init__(self):
        self.check("?")

    def check(self, rule: str) -> None:
        if self.action not in ACTIONS:
            _fail(rule, "then.action", f"{self.action!r} is not one of {list(ACTIONS)}")
        if self.target not in TARGETS:
            _fail(rule, "then.target", f"{self.target!r} is not one of {list(TARGETS)}")
        if self.action == "transfer_to_pr" and self.target != "payer_balance":
            _fail(rule, "then.target", "transfer_to_pr always moves the payer balance")
        if self.amount not in AMOUNTS:
            _fail(rule, "then.amount", f"{self.amount!r} is not one of {list(AMOUNTS)}")
        if self.amount == "matched" and not (
            self.action == "transfer_to_pr"
            or (self.action == "write_off" and self.target == "payer_balance")
        ):
            _fail(
                rule,
                "then.amount",
                "'matched' moves payer-balance amounts: use it with transfer_to_pr or "
                "a write_off of the payer_balance",
            )
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
    ledgerkit.rules.model.RuleError: rule 'bad', field 'site': a site rule needs a site id
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
        if self.then.amount == "matched" and not (self.when.group_codes or self.when.carcs):
            _fail(name, "then.amount", "'matched' needs when.group_codes or when.carcs")
        if self.then.action == "transfer_to_pr" and self.when.carcs and not self.when.group_codes:
            _fail(
                name,
                "when.group_codes",
                "a push to PR by CARC must name the group codes it moves (e.g. ['PR']): "
                "the group code decides who is liable and CO is the provider's obligation",
            )
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
        if self.then.amount == "all":  # the default: keep older rule files unchanged
            del out["then"]["amount"]
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
    ['noncovered_to_pr', 'small_balance']
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
    ledgerkit.rules.model.RuleError: rule 'tiny', field 'when.balance_max': expected an ...
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


MEDICARE_PR_WARNING = (
    "Write off PR when Medicare is primary (example, off by default). COMPLIANCE WARNING: "
    "routinely waiving Medicare deductibles and coinsurance can break beneficiary-inducement "
    "and anti-kickback rules; enable only under a documented financial-hardship policy."
)


def default_rules() -> RuleSet:
    """The shipped global rules (from the source guides), each documented.

    1. ``medicare_pr_write_off`` (an example, **disabled**): write off the
       patient responsibility of encounters whose primary payer is Medicare
       once they reach the patient stage. Routinely waiving Medicare
       cost-sharing is a compliance risk (DOMAIN, Settled question 4); its
       description says so.
    2. ``noncovered_to_pr``: push amounts the payer assessed to the patient as
       non-covered (group PR, CARC 96 or 204) that still sit in the payer
       balance (e.g. the primary's PR-96 after a secondary that did not cover
       it) to patient responsibility. Only the matched PR amounts move
       (``amount = "matched"``), never a CO amount: CO is the provider's.
    3. ``taa_write_off`` (disabled until TAAs are reviewed): when an
       encounter's allowed amount reaches the 25th percentile of its claim
       configuration's history (at least 10 claims), write off the rest of the
       payer balance.
    4. ``small_balance``: write off encounters whose whole balance is under
       $5.00 (1..499 cents).

    Examples
    --------
    >>> [(r.name, r.enabled) for r in default_rules()]  # doctest: +NORMALIZE_WHITESPACE
    [('medicare_pr_write_off', False), ('noncovered_to_pr', True),
     ('taa_write_off', False), ('small_balance', True)]
    """
    return RuleSet(
        (
            Rule(
                "medicare_pr_write_off",
                when=Condition(payer_classes=("medicare",), stages=("patient",)),
                then=Action("write_off", target="pr", group="CO", reason="A2"),
                enabled=False,
                order=10,
                description=MEDICARE_PR_WARNING,
            ),
            Rule(
                "noncovered_to_pr",
                when=Condition(group_codes=("PR",), carcs=("96", "204")),
                then=Action("transfer_to_pr", group="PR", reason="96", amount="matched"),
                order=20,
                description=(
                    "Push PR-96/PR-204 (non-covered, assessed to the patient) still in the "
                    "payer balance to PR; never a CO amount."
                ),
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


def as_rule_set(rules) -> RuleSet:
    """What every ``rules=`` argument accepts, as a :class:`RuleSet`.

    Parameters
    ----------
    rules : RuleSet, Rule, list or tuple of Rule, path of a TOML rule file, or None
        ``None`` means :func:`default_rules`.

    Raises
    ------
    TypeError
        Anything else.

    Examples
    --------
    >>> len(as_rule_set(None)) == len(default_rules())
    True
    """
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
