"""The knowledge layer: typed models, loading with validation, checks and reports."""

from bot.knowledge.loading import load, policy_path
from bot.knowledge.models import (
    LOCAL_PREFIX,
    Clause,
    Contact,
    FactSpec,
    FactValue,
    KnowledgeBase,
    KnowledgeError,
    Point,
    Policy,
    Problem,
    Rule,
    Scenario,
    Source,
    Variant,
)

__all__ = [
    "load",
    "policy_path",
    "LOCAL_PREFIX",
    "Clause",
    "Contact",
    "FactSpec",
    "FactValue",
    "KnowledgeBase",
    "KnowledgeError",
    "Point",
    "Policy",
    "Problem",
    "Rule",
    "Scenario",
    "Source",
    "Variant",
]
