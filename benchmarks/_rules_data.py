"""A 20-rule benchmark rule set over the synthetic payers (shared by asv and compare)."""

from ledgerkit.rules.engine import Action, Condition, Rule, RuleSet, default_rules


def twenty_rules() -> RuleSet:
    """The 4 shipped rules (all on) plus 16 that exercise every condition kind."""
    # Every shipped rule on, as before the Medicare example shipped switched off,
    # so timings stay comparable across versions.
    base = list(default_rules().enable("taa_write_off").enable("medicare_pr_write_off"))
    wo, flag, push, leave = (
        Action("write_off"),
        Action("flag"),
        Action("transfer_to_pr"),
        Action("leave"),
    )
    extra = [
        Rule("wc_leave", when=Condition(payer_classes=["workers_comp"]), then=leave, order=1),
        Rule(
            "north_old_denials",
            when=Condition(classes=["DENIAL"], age_from="service", age_min_days=300),
            then=wo,
            scope="site",
            site="NORTH",
        ),
        Rule(
            "east_bundled",
            when=Condition(carcs=["97"], cpts=["36415", "81001", "90471"]),
            then=wo,
            scope="site",
            site="EAST",
        ),
        Rule("mcd_timely", when=Condition(payer_ids=["MCD01"], carcs=["29"]), then=wo, order=40),
        Rule("auth_review", when=Condition(carcs=["197"]), then=flag, order=41),
        Rule(
            "info_missing_old",
            when=Condition(
                group_codes=["CO"], carcs=["16"], age_from="last_remit", age_min_days=90
            ),
            then=wo,
            order=42,
        ),
        Rule(
            "not_covered_pr",
            when=Condition(group_codes=["PR"], carcs=["204"]),
            then=push,
            order=43,
        ),
        Rule(
            "partial_small",
            when=Condition(classes=["PARTIAL_DENIAL"], balance_max=2_500),
            then=wo,
            order=44,
        ),
        Rule(
            "unresolved_reduction",
            when=Condition(classes=["UNRESOLVED"], carcs=["59", "B15"], group_codes=["PI", "CO"]),
            then=wo,
            order=45,
        ),
        Rule(
            "ma_underpaid",
            when=Condition(
                payer_classes=["medicare_advantage"],
                allowed_vs_taa="<",
                taa_percentile=10.0,
                taa_min_claims=10,
            ),
            then=flag,
            order=46,
        ),
        Rule(
            "commercial_taa",
            when=Condition(
                payer_classes=["commercial"],
                allowed_vs_taa=">=",
                taa_percentile=50.0,
                taa_fraction=0.95,
                taa_min_claims=10,
            ),
            then=Action("write_off", target="payer_balance", reason="45"),
            order=47,
        ),
        Rule(
            "self_pay_old",
            when=Condition(payer_classes=["self_pay"], age_from="service", age_min_days=180),
            then=Action("write_off", target="pr"),
            order=48,
        ),
        Rule(
            "payer2_stage_review",
            when=Condition(stages=["payer_2"], balance_min=50_000),
            then=flag,
            order=49,
        ),
        Rule(
            "medical_necessity",
            when=Condition(carcs=["50"], cpts=["99214", "99204", "93000", "71046", "97110"]),
            then=flag,
            order=50,
        ),
        Rule(
            "eligibility_to_pr",
            when=Condition(
                group_codes=["PR"], carcs=["27", "31"], age_from="last_remit", age_min_days=60
            ),
            then=push,
            order=51,
        ),
        Rule(
            "patient_tiny",
            when=Condition(stages=["patient"], balance_max=999),
            then=Action("write_off", target="pr"),
            order=52,
        ),
    ]
    return RuleSet(tuple(base + extra))
