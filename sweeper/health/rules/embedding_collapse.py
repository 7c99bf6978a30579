"""`embedding_collapse`: the embeddings all point one way, or span too few dimensions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sweeper.health.rules.base import Evidence, Limit, Rule, RuleConfig, Verdict, threshold_rule

NAME = "embedding_collapse"
COSINE_COLLAPSE = 0.999
RANK_COLLAPSE = 0.05
_SIGNALS = {
    "cosine": ("embedding_cosine_mean", ">"),
    "rank": ("embedding_rank_ratio", "<"),
}


class EmbeddingCollapseRule(RuleConfig):
    """Prune when the embeddings collapse: mean pairwise cosine above 0.999 (signal cosine), or
    RankMe rank / dimension below 0.05 (signal rank), or either (signal any, the default: a
    collapsed rank can come with a moderate, oscillating mean cosine). `threshold` overrides the
    single signal's default; with `any`, each signal keeps its own."""

    signal: Literal["any", "cosine", "rank"] = "any"
    threshold: float | None = Field(default=None, allow_inf_nan=False)
    patience: int = Field(default=2, ge=1)
    warmup: int = Field(default=1, ge=0)

    @field_validator("threshold")
    @classmethod
    def _threshold_in_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        signal = info.data.get("signal", "any")
        if value is not None and signal == "any":
            raise ValueError("a threshold needs signal cosine or rank (any keeps both defaults)")
        if value is not None and signal == "cosine" and not -1.0 <= value < 1.0:
            raise ValueError(f"a cosine threshold must be in [-1, 1) (got {value})")
        if value is not None and signal == "rank" and not 0.0 < value <= 1.0:
            raise ValueError(f"a rank-ratio threshold must be in (0, 1] (got {value})")
        return value

    @model_validator(mode="after")
    def _default_threshold(self) -> EmbeddingCollapseRule:
        if self.threshold is None and self.signal != "any":
            self.threshold = COSINE_COLLAPSE if self.signal == "cosine" else RANK_COLLAPSE
        return self

    def thresholds(self) -> dict[str, float]:
        """The threshold of each signal the rule reads: {"cosine": ..., "rank": ...}."""
        if self.signal == "any":
            return {"cosine": COSINE_COLLAPSE, "rank": RANK_COLLAPSE}
        assert self.threshold is not None
        return {self.signal: self.threshold}


def check(rule: EmbeddingCollapseRule, evidence: Evidence) -> Verdict | None:
    """Mean pairwise cosine above its threshold, or RankMe rank ratio below its threshold."""
    for signal, threshold in rule.thresholds().items():
        name, op = _SIGNALS[signal]
        verdict = threshold_rule(NAME, rule, evidence.series, name, op, evidence.epoch, threshold)
        if verdict is not None:
            return verdict
    return None


def limits(rule: EmbeddingCollapseRule) -> tuple[Limit, ...]:
    """Each watched signal with its threshold (the cosine measured on `1 - cosine`)."""
    watched = []
    for signal, threshold in rule.thresholds().items():
        name, op = _SIGNALS[signal]
        watched.append(Limit(NAME, name, op, threshold, near_one=signal == "cosine"))
    return tuple(watched)


RULE = Rule(
    name=NAME,
    config=EmbeddingCollapseRule,
    check=check,
    description=(
        f"`embedding_cosine_mean` > {COSINE_COLLAPSE} or `embedding_rank_ratio` < "
        f"{RANK_COLLAPSE} (`signal: any`, the default; `cosine` or `rank` reads one)"
    ),
    signals=tuple(name for name, _ in _SIGNALS.values()),
    threshold=f"{COSINE_COLLAPSE} / {RANK_COLLAPSE}",
    limits=limits,
)
