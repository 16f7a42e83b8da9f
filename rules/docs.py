"""Rule documentation, from the rules themselves: ``pl-convert rule CODE`` and docs/rules.md.

``python -m pl_convert.rules.docs`` rewrites docs/rules.md; ``--check`` exits 1 if it is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .config import DEFAULT_SELECT
from .rule import Rule

GROUPS = {
    "PTL0": "pl-convert's own comments",
    "PTL1": "Correctness and best practice",
    "PTL2": "Lightning 1.x → 2.x migration",
    "PTL3": "Performance (PTL301 on by default, the rest opt-in)",
}
FIX_LABELS = {"safe": "safe", "unsafe": "unsafe", "sometimes-safe": "safe/unsafe", None: "—"}


def default_on(rule: type[Rule]) -> bool:
    return any(rule.code.startswith(prefix) for prefix in DEFAULT_SELECT)


def rule_markdown(rule: type[Rule], heading: str = "#") -> str:
    """The rule's page: header facts, its docstring sections, and its first examples."""
    doc = rule.documentation().replace("\n## ", f"\n{heading}# ")
    if doc.startswith("## "):
        doc = f"{heading}# " + doc[3:]
    bad = rule.INVALID[0]
    fixed = next((e for e in rule.INVALID if e.fixed is not None), None)
    facts = [
        f"Fix: {FIX_LABELS[rule.fix_safety]}",
        f"Default: {'on' if default_on(rule) else 'off (select it to enable)'}",
    ]
    if rule.applies_from:
        facts.append(f"Applies when the target Lightning version is ≥ {'.'.join(map(str, rule.applies_from))}")
    parts = [f"{heading} {rule.code} `{rule.name}`", "", f"*{rule.message}*", "", " · ".join(facts), ""]
    # Example / Use instead go after "Why is this bad?", before "Fix safety"
    marker = f"\n{heading}# Fix safety"
    head, sep, tail = doc.partition(marker)
    parts.append(head.rstrip())
    parts += ["", f"{heading}# Example", "", "```python", bad.code.rstrip(), "```", ""]
    if fixed is not None:
        parts += [f"{heading}# Use instead (the fix)", "", "```python", fixed.fixed.rstrip(), "```", ""]
    else:
        parts += [f"{heading}# Use instead", "", "```python", rule.VALID[0].code.rstrip(), "```", ""]
    if sep:
        parts += [(sep + tail).strip(), ""]
    return "\n".join(parts).rstrip() + "\n"


def rules_markdown() -> str:
    """The whole docs/rules.md."""
    from .registry import all_rules

    rules = all_rules()
    out = [
        "# pl-convert lint rules",
        "",
        "<!-- Generated from the rule classes by `python -m pl_convert.rules.docs`; a test keeps it current. -->",
        "",
        f"{len(rules)} rules. Codes are grouped by hundreds: PTL0xx pl-convert's own `noqa` comments, PTL1xx",
        "correctness and best practice, PTL2xx Lightning 1.x → 2.x migration, PTL3xx performance. PTL0, PTL1,",
        "PTL2 and PTL301 (a DataLoader without workers) run by default; the rest of PTL3 is opt-in",
        "(`--select PTL3` or `extend-select = [\"PTL3\"]` in `[tool.pl-convert.lint]`), because Lightning",
        "already warns about these at run time with knowledge of the machine (CPU count, devices) that a",
        "static tool lacks. Files that cannot be read or parsed are reported as `PTL000` (`source-error`).",
        "",
        "Fixes marked *safe* are applied by `pl-convert lint --fix`; *unsafe* ones also need",
        "`--unsafe-fixes`. Silence a finding with `# noqa: PTL101` on its line, or a whole file with a",
        "`# pl-convert: noqa: PTL101` line (`# pl-convert: noqa` for every rule); PTL001 reports codes in",
        "those comments that match no rule or silence nothing, and `pl-convert lint --add-noqa` writes",
        "them for every current finding (to adopt the linter on an existing codebase).",
        "",
        "| Code | Name | Fix | Default | Message |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in rules:
        message = rule.message.replace("|", "\\|")
        anchor = f"{rule.code.lower()}-{rule.name}"
        default = "on" if default_on(rule) else "off"
        out.append(f"| [{rule.code}](#{anchor}) | `{rule.name}` | {FIX_LABELS[rule.fix_safety]} | {default} | {message} |")
    out.append("")
    current = None
    for rule in rules:
        group = rule.code[:4]
        if group != current:
            current = group
            out += [f"## {GROUPS.get(group, group)}", ""]
        out.append(rule_markdown(rule, heading="###"))
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    from ..sourcefile import write_generated

    args = sys.argv[1:] if argv is None else argv
    target = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    return write_generated(target, rules_markdown(), "--check" in args, "python -m pl_convert.rules.docs")

if __name__ == "__main__":
    sys.exit(main())
