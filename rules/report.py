"""Output formats for lint results: full (code frames), concise, json, json-lines, sarif,
github (Actions annotations), gitlab (Code Quality).

Text formats are built as (text, style) segments: printed through rich when writing to a
terminal, joined as plain text otherwise (pipes, files, CI logs), so both read the same.
"""

from __future__ import annotations

from typing import IO, Any, Iterable

from .. import __version__
from ..config import OUTPUT_FORMATS as FORMATS  # one list: the option, the key, the renderers
from .findings import FileResult, Finding

#: pseudo-code for files that could not be read or parsed
SOURCE_ERROR_CODE = "PTL000"
SOURCE_ERROR_NAME = "source-error"
DOCS_URL = "https://github.com/pl-convert/pl-convert/blob/main/docs/rules.md"

Segment = tuple[str, str]


class Printer:
    """Writes lines of styled segments to a stream, with colours only on a terminal."""

    def __init__(self, stream: IO[str], color: bool) -> None:
        self.stream = stream
        self.console = None
        if color:
            from rich.console import Console

            self.console = Console(file=stream, highlight=False, soft_wrap=True)

    def line(self, *segments: Segment) -> None:
        if self.console is not None:
            from rich.text import Text

            self.console.print(Text.assemble(*segments))
        else:
            self.stream.write("".join(text for text, _ in segments) + "\n")


def _location(path: str, line: int, column: int | None = None) -> list[Segment]:
    out: list[Segment] = [(path, "bold"), (":", "dim"), (str(line), "")]
    if column is not None:
        out += [(":", "dim"), (str(column), "")]
    return out + [(":", "dim"), (" ", "")]


def where(path: str, finding: Finding) -> str:
    """``path`` or, for a notebook cell, ``path:cell N`` (ruff's notation)."""
    return path if finding.cell is None else f"{path}:cell {finding.cell}"


def _headline(finding: Finding, path: str) -> list[Segment]:
    segments = _location(where(path, finding), finding.line, finding.column) + [(finding.code, "bold red"), (" ", "")]
    if finding.fix is not None:
        segments.append(("[*] " if finding.fix.is_safe else "[-] ", "cyan"))
    return segments + [(finding.message, "")]


def _error_line(result: FileResult, path: str) -> list[Segment]:
    where: list[Segment] = [(path, "bold"), (":", "dim")]
    if result.error_line is not None:
        where += [(str(result.error_line), ""), (":", "dim")]
    return where + [(" ", ""), ("error: ", "bold red"), (result.error or "", "")]


def _frame(printer: Printer, finding: Finding, lines: list[str]) -> None:
    """The offending source line with a caret underline, ruff-style."""
    if not (1 <= finding.line <= len(lines)):
        return
    number = str(finding.line)
    gutter = " " * len(number)
    text = lines[finding.line - 1].rstrip("\n").replace("\t", " ")
    start = max(finding.column - 1, 0)
    end = finding.end_column - 1 if finding.end_line == finding.line else len(text)
    width = max(1, min(end, len(text)) - start)
    printer.line((f"{gutter} |", "blue"))
    printer.line((f"{number} |", "blue"), (" ", ""), (text, ""))
    printer.line((f"{gutter} |", "blue"), (" " + " " * start, ""), ("^" * width, "bold red"), (" ", ""), (finding.code, "bold red"))
    if finding.fix is not None:
        label = "fix" if finding.fix.is_safe else "unsafe fix"
        printer.line((f"{gutter} = ", "blue"), (f"{label}: ", "bold cyan"), (finding.fix.message, ""))
    printer.line(("", ""))


def _frame_lines(result: FileResult, finding: Finding) -> list[str]:
    if finding.cell is not None and result.cell_lines is not None:
        return result.cell_lines.get(finding.cell, [])
    return result.source.splitlines() if result.source else []


def write_text(
    results: list[FileResult], stream: IO[str], color: bool, concise: bool, show_fixes_hint: bool = True,
    quiet: bool = False, show_fixes: bool = False, fixed_verb: str = "Fixed",
) -> None:
    """The human formats (``full`` and ``concise``) with a summary line (none when ``quiet``);
    ``show_fixes``: list what ``--fix`` fixed, per file and code."""
    from .runner import relative

    printer = Printer(stream, color)
    total = errors = fixable_safe = fixable_unsafe = fixed = 0
    for result in results:
        path = relative(result.path)
        fixed += result.fixed
        if result.error is not None:
            errors += 1
            printer.line(*_error_line(result, path))
        for finding in result.findings:
            total += 1
            if finding.fix is not None:
                if finding.fix.is_safe:
                    fixable_safe += 1
                else:
                    fixable_unsafe += 1
            printer.line(*_headline(finding, path))
            if not concise:
                lines = _frame_lines(result, finding)
                if lines:
                    _frame(printer, finding, lines)
    if show_fixes and fixed:
        _fixes_applied(printer, results)
    if quiet:
        return
    if fixed:
        printer.line((f"{fixed_verb} {fixed} problem{'s' if fixed != 1 else ''}.", "bold green"))
    if total:
        summary: list[Segment] = [(f"Found {total} problem{'s' if total != 1 else ''}.", "bold")]
        if show_fixes_hint and fixable_safe:
            summary.append((f" [*] {fixable_safe} fixable with `--fix`.", "cyan"))
        if show_fixes_hint and fixable_unsafe:
            summary.append((f" [-] {fixable_unsafe} more with `--fix --unsafe-fixes`.", "cyan"))
        printer.line(*summary)
    elif not errors and not fixed:
        printer.line(("All checks passed!", "bold green"))
    if errors:
        printer.line((f"{errors} file{'s' if errors != 1 else ''} could not be checked.", "bold red"))


def _fixes_applied(printer: Printer, results: list[FileResult]) -> None:
    """ruff's ``--show-fixes`` list: per file, how many of each code were fixed."""
    from .runner import relative

    printer.line(("Fixes applied:", "bold"))
    for result in results:
        counts: dict[tuple[str, str, str], int] = {}
        for finding in result.fixed_findings:
            key = (where(relative(result.path), finding), finding.code, finding.name)
            counts[key] = counts.get(key, 0) + 1
        for (path, code, name), count in sorted(counts.items()):
            printer.line((f"  {path}: ", "bold"), (f"{count} × ", ""), (code, "bold red"), (f" ({name})", "dim"))


def statistics(results: list[FileResult]) -> list[dict[str, Any]]:
    """Findings counted per code, most frequent first (``--statistics``)."""
    counts: dict[str, dict[str, Any]] = {}
    for result in results:
        if result.error is not None:
            entry = counts.setdefault(SOURCE_ERROR_CODE, {"code": SOURCE_ERROR_CODE, "name": SOURCE_ERROR_NAME, "count": 0, "fixable": False})
            entry["count"] += 1
        for finding in result.findings:
            entry = counts.setdefault(finding.code, {"code": finding.code, "name": finding.name, "count": 0, "fixable": False})
            entry["count"] += 1
            entry["fixable"] = entry["fixable"] or (finding.fix is not None and finding.fix.is_safe)
    return sorted(counts.values(), key=lambda e: (-e["count"], e["code"]))


def write_statistics(results: list[FileResult], fmt: str, stream: IO[str], color: bool) -> None:
    rows = statistics(results)
    if fmt == "json":
        import json

        stream.write(json.dumps(rows, indent=2) + "\n")
        return
    printer = Printer(stream, color)
    width = max((len(str(row["count"])) for row in rows), default=1)
    for row in rows:
        printer.line(
            (str(row["count"]).rjust(width), "bold"), ("\t", ""), (row["code"], "bold red"), ("\t", ""),
            ("[*] " if row["fixable"] else "    ", "cyan"), (row["name"], ""),
        )


def _error_dict(result: FileResult) -> dict[str, Any]:
    line = result.error_line or 1
    return {
        "code": SOURCE_ERROR_CODE,
        "name": SOURCE_ERROR_NAME,
        "path": result.path,
        "line": line,
        "column": 1,
        "end_line": line,
        "end_column": 1,
        "message": result.error,
        "fix": None,
        "cell": None,
    }


def to_json(results: list[FileResult]) -> str:
    """A JSON list of finding objects (and source errors as ``PTL000`` objects)."""
    import json  # here, not at the top: the text formats (the default) do not need it

    items: list[dict[str, Any]] = []
    for result in results:
        if result.error is not None:
            items.append(_error_dict(result))
        items.extend(finding.to_dict() for finding in result.findings)
    return json.dumps(items, indent=2, ensure_ascii=False)


def to_json_lines(results: list[FileResult]) -> str:
    """One JSON object per line (the ``json`` objects), for streaming tools."""
    import json

    lines = []
    for result in results:
        if result.error is not None:
            lines.append(json.dumps(_error_dict(result), ensure_ascii=False))
        lines += [json.dumps(finding.to_dict(), ensure_ascii=False) for finding in result.findings]
    return "".join(line + "\n" for line in lines)


def to_gitlab(results: list[FileResult]) -> str:
    """GitLab Code Quality (a JSON list of issues with a stable fingerprint per finding)."""
    import hashlib
    import json

    from .runner import relative

    issues = []
    for result in results:
        path = relative(result.path).replace("\\", "/")
        entries = [_error_dict(result)] if result.error is not None else []
        entries += [finding.to_dict() for finding in result.findings]
        for entry in entries:
            where = f"cell {entry['cell']}: " if entry.get("cell") else ""
            key = f"{path}:{entry.get('cell')}:{entry['line']}:{entry['column']}:{entry['code']}:{entry['message']}"
            issues.append(
                {
                    "description": f"{where}{entry['message']}",
                    "check_name": entry["code"],
                    "fingerprint": hashlib.sha256(key.encode("utf-8")).hexdigest(),
                    "severity": "major" if entry["code"] == SOURCE_ERROR_CODE else "minor" if entry["code"].startswith("PTL3") else "major",
                    "location": {"path": path, "lines": {"begin": entry["line"], "end": entry["end_line"]}},
                }
            )
    return json.dumps(issues, indent=2, ensure_ascii=False)


def _github_escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def to_github(results: list[FileResult]) -> str:
    """GitHub Actions workflow commands: one ``::error`` annotation per finding."""
    from .runner import relative

    out = []
    for result in results:
        path = _github_escape(relative(result.path), True)
        if result.error is not None:
            line = result.error_line or 1
            out.append(f"::error title=pl-convert ({SOURCE_ERROR_CODE}),file={path},line={line}::{_github_escape(result.error)}")
        for f in result.findings:
            title = _github_escape(f"pl-convert ({f.code})" + (f" cell {f.cell}" if f.cell is not None else ""), True)
            out.append(
                f"::error title={title},file={path},line={f.line},col={f.column},"
                f"endLine={f.end_line},endColumn={f.end_column}::{_github_escape(f'{f.code} {f.message}')}"
            )
    return "\n".join(out) + ("\n" if out else "")


def to_sarif(results: list[FileResult]) -> str:
    """SARIF 2.1.0, as GitHub code scanning accepts it (rules with help, relative URIs)."""
    import json

    from .docs import rule_markdown
    from .registry import all_rules
    from .runner import relative

    rules = list(all_rules())
    index = {rule.code: i for i, rule in enumerate(rules)}
    descriptors = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.message},
            "fullDescription": {"text": rule.documentation().split("## Why is this bad?")[0].replace("## What it does", "").strip()},
            "helpUri": f"{DOCS_URL}#{rule.code.lower()}",
            "help": {"text": rule.message, "markdown": rule_markdown(rule)},
            "defaultConfiguration": {"level": "warning" if rule.code.startswith("PTL3") else "error"},
            "properties": {"tags": [rule.group()]},
        }
        for rule in rules
    ]
    sarif_results = []
    for result in results:
        uri = relative(result.path).replace("\\", "/")
        if result.error is not None:
            line = result.error_line or 1
            sarif_results.append(
                {
                    "ruleId": SOURCE_ERROR_CODE,
                    "level": "error",
                    "message": {"text": result.error},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}}}],
                }
            )
        for f in result.findings:
            entry: dict[str, Any] = {
                "ruleId": f.code,
                "ruleIndex": index.get(f.code, 0),
                "level": "warning" if f.code.startswith("PTL3") else "error",
                "message": {"text": f.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri},
                            "region": {
                                "startLine": f.line,
                                "startColumn": f.column,
                                "endLine": f.end_line,
                                "endColumn": f.end_column,
                            },
                        }
                    }
                ],
            }
            if f.cell is not None:
                entry["properties"] = {"cell": f.cell}  # lines are the cell's own
            if f.fix is not None:
                entry["fixes"] = [
                    {
                        "description": {"text": f.fix.message},
                        "artifactChanges": [
                            {
                                "artifactLocation": {"uri": uri},
                                "replacements": [
                                    {
                                        "deletedRegion": {"startLine": e.line, "startColumn": e.column, "endLine": e.end_line, "endColumn": e.end_column},
                                        "insertedContent": {"text": e.content},
                                    }
                                    for e in f.fix.edits
                                ],
                            }
                        ],
                    }
                ]
            sarif_results.append(entry)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pl-convert",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": DOCS_URL,
                        "rules": descriptors,
                    }
                },
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def render(results: list[FileResult], fmt: str, stream: IO[str], color: bool, quiet: bool = False, show_fixes: bool = False) -> None:
    if fmt in ("full", "concise"):
        write_text(results, stream, color, concise=fmt == "concise", quiet=quiet, show_fixes=show_fixes)
    elif fmt == "json":
        stream.write(to_json(results) + "\n")
    elif fmt == "json-lines":
        stream.write(to_json_lines(results))
    elif fmt == "gitlab":
        stream.write(to_gitlab(results) + "\n")
    elif fmt == "sarif":
        stream.write(to_sarif(results) + "\n")
    elif fmt == "github":
        stream.write(to_github(results))
    else:  # pragma: no cover - click validates the choice
        raise ValueError(fmt)


def iter_findings(results: Iterable[FileResult]) -> Iterable[Finding]:
    for result in results:
        yield from result.findings
