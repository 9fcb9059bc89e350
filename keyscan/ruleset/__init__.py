"""Rules are data: YAML files under the top-level ``rules/`` directory."""

from .model import Example, Rule, RuleCatalogue
from .loader import builtin_rules_dir, load_rules

__all__ = ["Example", "Rule", "RuleCatalogue", "builtin_rules_dir", "load_rules"]
