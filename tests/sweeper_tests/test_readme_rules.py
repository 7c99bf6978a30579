"""The README's rule table is the rule registry's: one row per rule of `RULES`, in its order, with
its description, default threshold, patience and warm-up. A rule added, renamed or retuned
without its row (or the reverse) fails here, and the message holds the table to paste."""

from __future__ import annotations

from sweeper.health.config import HealthConfig
from sweeper.health.rules import RULE_NAMES, RULES, Rule
from tests.conftest import REPO

HEADER = (
    "| rule | fires when | default threshold | patience | warm-up |",
    "|---|---|---|---|---|",
)


def rule_row(rule: Rule) -> str:
    """The rule's row as the README writes it, from its declaration and its config's defaults."""
    defaults = rule.config()
    cells = (
        f"`{rule.name}`",
        rule.description,
        rule.default_threshold(),
        str(defaults.patience),
        str(defaults.warmup),
    )
    return f"| {' | '.join(cells)} |"


def readme_rule_table() -> list[str]:
    """The README's table that starts with HEADER, line by line."""
    lines = (REPO / "README.md").read_text().splitlines()
    start = lines.index(HEADER[0])
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return lines[start:end]


def test_the_readme_rule_table_is_rendered_from_the_registry() -> None:
    expected = [*HEADER, *(rule_row(rule) for rule in RULES)]
    assert readme_rule_table() == expected, "README.md's rule table should read:\n" + "\n".join(
        expected
    )


def test_the_study_file_has_one_entry_per_registered_rule_in_its_order() -> None:
    fields = list(HealthConfig.model_fields)
    assert fields == ["mode", "sampler_feedback", *RULE_NAMES]
    for rule in RULES:
        assert HealthConfig.model_fields[rule.name].annotation is rule.config


def test_every_rule_declares_a_one_line_description_and_the_signals_it_reads() -> None:
    for rule in RULES:
        assert rule.description and "\n" not in rule.description, rule.name
        assert "|" not in rule.description, rule.name  # it would split the table's cell
        assert rule.signals, rule.name
