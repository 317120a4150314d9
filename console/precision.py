"""Per-rule precision from triage: of the alerts analysts judged, the share they called relevant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from newswatch.console.feedback import Verdict


@dataclass(frozen=True)
class RulePrecision:
    """One rule's triage: alerts judged relevant, judged in all, and their ratio."""

    rule_id: str
    relevant: int
    triaged: int

    @property
    def not_relevant(self) -> int:
        """Alerts judged not relevant."""
        return self.triaged - self.relevant

    @property
    def precision(self) -> float:
        """relevant / triaged (a rule is listed only once triaged, so never 0 / 0)."""
        return self.relevant / self.triaged


def precision_by_rule(verdicts: Iterable[Verdict]) -> dict[str, RulePrecision]:
    """Each triaged rule's precision, by rule id (one verdict per alert: the store keeps the latest)."""
    counts: dict[str, list[int]] = {}
    for verdict in verdicts:
        relevant, triaged = counts.setdefault(verdict.rule_id, [0, 0])
        counts[verdict.rule_id] = [relevant + verdict.relevant, triaged + 1]
    return {rule: RulePrecision(rule, relevant, triaged) for rule, (relevant, triaged) in sorted(counts.items())}
