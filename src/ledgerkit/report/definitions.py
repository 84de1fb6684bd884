"""The words of a proposal, in docs/glossary.md's wording (a test keeps them in step).

The glossary is not shipped inside the package, so the definitions a
proposal prints travel here; ``tests/test_report.py`` checks that each one
appears word for word in docs/glossary.md.
"""

from __future__ import annotations

__all__ = ["DEFINITIONS", "GLOSSARY"]

GLOSSARY = "docs/glossary.md"

DEFINITIONS = (
    (
        "Balance",
        "charge − insurance paid − patient paid − contractual − written off. *Balanced* "
        "means exactly 0, at procedure, payer or encounter level.",
    ),
    ("Payer balance", "balance − open PR: what an insurer still owes."),
    (
        "Allowed",
        "All payers' payments + the last adjudicating payer's deductible, coinsurance and "
        "copay (PR-1, PR-2, PR-3).",
    ),
    (
        "Hit vs closed",
        "A rule *hits* an encounter when its condition holds on one of its procedures (a "
        "`flag` or `leave` rule hits too, though it moves nothing); an encounter is "
        "*closed* when the rule set's entries bring its balance to 0.",
    ),
    (
        "Written off vs A/R removed",
        "*Written off* is the dollars the rules' write-offs move. *A/R removed* is the "
        "balance of the encounters the rules close: what leaves the open receivables, "
        "whether by write-off or transfer.",
    ),
    (
        "Balance left to collect",
        "the open balance of a payer's encounters less what the rules write off: what "
        "is still to be collected from payers and patients once the rules are on.",
    ),
    (
        "Denials excluded",
        "lines denied entirely (allowed 0 with a live denial) on encounters the rules "
        "hit that no rule moved: appealable denials left to work, with their denied "
        "dollars.",
    ),
    (
        "Target allowed amount (TAA)",
        "The least allowed amount the practice accepts for a **claim configuration** (the "
        "multiset of procedures with modifiers and units, the payer, the place of service) "
        "before it stops chasing the rest.",
    ),
    (
        "TAA source",
        "`suggest_taa` lists every configuration with its `taa_source` (`history`, "
        "`contract`, `cpt_set_any_pos`, or null for none)",
    ),
    (
        "Clean history",
        "A TAA comes from clean history: the configuration's encounters that the payer "
        "allowed without any live denial and that were not reversed.",
    ),
)
