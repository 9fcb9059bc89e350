"""Rules are data: YAML files under the top-level ``rules/`` directory."""

from .model import Example, Rule
from .loader import builtin_rules_dir, load_rules

__all__ = ["Example", "Rule", "builtin_rules_dir", "load_rules"]
