"""Budgets: per case, an absolute cost for this machine kind and ratio targets
against peers; and the verdicts.

The file ships in this package, ``audiocore/bench/budgets.json`` (in the source
tree ``src/audiocore/bench/budgets.json``, the copy to edit)::

    {"cases": {"ulaw_encode": {"budget_ns": 130, "peer": "audioop",
                               "targets": {"audioop": 0.25}, "why": "..."}}}

``budget_ns`` is the amortised ns per 20 ms frame allowed on the machine kind
named in the file; ``peer`` the peer the case is compared with; ``targets`` the
most ours may cost as a share of each named peer, measured in the same run.
Ratio targets decide the verdict: they hold on a busy machine, where absolute
times do not. Absolute budgets are shown, and decide too only when asked.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

FILE_NAME = "budgets.json"

HELD, MISSED, SKIPPED = "held", "missed", "skipped"
WITHIN, OVER = "within", "over"


@dataclass(frozen=True)
class Budget:
    case: str
    budget_ns: Optional[float] = None
    peer: Optional[str] = None
    targets: dict[str, float] = field(default_factory=dict)
    why: str = ""


@dataclass(frozen=True)
class Budgets:
    path: Optional[Path]
    machine: str
    cases: dict[str, Budget]

    def get(self, case_id: str) -> Budget:
        return self.cases.get(case_id, Budget(case_id))


NO_BUDGETS = Budgets(None, "", {})


def _positive(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    return float(value)


def parse_budgets(doc: Any, path: Optional[Path] = None) -> Budgets:
    where = f" in {path}" if path else ""
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), dict):
        raise ValueError(f"budgets{where} must be an object with a \"cases\" object")
    cases = {}
    for case_id, entry in doc["cases"].items():
        if not isinstance(entry, dict):
            raise ValueError(f"budget for {case_id!r}{where} must be an object")
        unknown = set(entry) - {"budget_ns", "peer", "targets", "why"}
        if unknown:
            raise ValueError(f"budget for {case_id!r}{where} has unknown keys: "
                             f"{', '.join(sorted(unknown))}")
        targets = entry.get("targets", {})
        if not isinstance(targets, dict):
            raise ValueError(f"targets for {case_id!r}{where} must map peer ids to ratios")
        cases[case_id] = Budget(
            case=case_id,
            budget_ns=(_positive(entry["budget_ns"], f"{case_id}.budget_ns")
                       if entry.get("budget_ns") is not None else None),
            peer=entry.get("peer"),
            targets={str(k): _positive(v, f"{case_id}.targets.{k}") for k, v in targets.items()},
            why=str(entry.get("why", "")),
        )
    return Budgets(path, str(doc.get("machine", "")), cases)


def load_budgets(path: Path) -> Budgets:
    with open(path, encoding="utf-8") as f:
        return parse_budgets(json.load(f), path)


def find_budgets_file() -> Optional[Path]:
    """The budgets file installed with this package (None if it was left out)."""
    path = Path(__file__).resolve().with_name(FILE_NAME)
    return path if path.is_file() else None


@dataclass(frozen=True)
class Verdict:
    """A ratio target: ours / peer <= target, in one run."""

    case: str
    peer: str
    target: float
    ratio: Optional[float]
    status: str  # HELD, MISSED or SKIPPED (peer not measured)

    @property
    def shortfall(self) -> Optional[float]:
        """How many times over the target ours is (> 1 when missed)."""
        if self.ratio is None:
            return None
        return self.ratio / self.target

    def as_dict(self) -> dict[str, Any]:
        return {"case": self.case, "peer": self.peer, "target": self.target,
                "ratio": None if self.ratio is None else round(self.ratio, 4),
                "status": self.status}


def judge_ratios(case_id: str, budget: Budget, ratios: dict[str, float]) -> list[Verdict]:
    """One verdict per target; ``ratios`` maps peer ids measured to ours / peer."""
    out = []
    for peer, target in budget.targets.items():
        r = ratios.get(peer)
        if r is None:
            out.append(Verdict(case_id, peer, target, None, SKIPPED))
        else:
            out.append(Verdict(case_id, peer, target, r, HELD if r <= target else MISSED))
    return out


def judge_absolute(budget: Budget, amortised_ns: float) -> Optional[str]:
    if budget.budget_ns is None:
        return None
    return WITHIN if amortised_ns <= budget.budget_ns else OVER


def exit_code(verdicts: list[Verdict], absolute: list[Optional[str]],
              use_absolute: bool = False) -> int:
    """1 when a ratio target is missed (or, with ``use_absolute``, an absolute
    budget is over); skipped targets do not fail the run."""
    if any(v.status == MISSED for v in verdicts):
        return 1
    if use_absolute and any(a == OVER for a in absolute):
        return 1
    return 0
