"""Fuzz benchmark (not in CI): many generated programs through convert, lint and a second convert.

    python benchmarks/bench_fuzz.py --limit 500 --jobs 2              # measure the rate
    python benchmarks/bench_fuzz.py --limit 10000 --jobs 8 --write-doc  # the figures in docs/fuzz.md
    python benchmarks/bench_fuzz.py --limit 200 --failures fuzz-failures/  # keep what failed
    python benchmarks/bench_fuzz.py --from-json run.json --write-doc   # the doc from a saved --json run

Four generators take turns (example ``i`` uses generator ``i % 4``, with its own seed, so a run
is reproducible and ``--limit`` cuts every kind alike):

* ``random``: a ``hypothesmith`` program (grammar-generated Python), alone;
* ``mutated``: a fixture original (``fixtures/*/original.py``) with one to three edits: rename a
  name, drop a statement, swap two neighbouring statements, duplicate one;
* ``renamed``: a fixture original whose loop variables (the targets of its ``for`` loops) and
  its optimizer are renamed to names the converter itself introduces (``batch``, ``batch_idx``,
  ``i``, ``optimizer``, ``self``, ``loss``, ``trainer``, ...): the collisions issue 14 found;
* ``spliced``: random statements put inside a fixture's training or evaluation loop, or a
  fixture's training loop put into a random program.

Each program is converted (``pytorch_lightning`` and ``lightning`` import styles in turn), its
output compiled with ``compile()`` and converted again (a conversion must be a fixed point:
``ALREADY_LIGHTNING`` with no output), and the program and the output are linted with every
rule. Counted: crashes (an exception from convert or lint, or an "internal error" refusal),
outputs that fail ``compile()``, non-idempotent outputs, examples over the time limit, and the
statuses. Exit status 1 when any of the first three is not 0.

Cheap examples: programs are generated and edited with ``ast`` (C speed) rather than libcst,
``hypothesmith`` draws without shrinking or a database, and a worker process handles a chunk of
examples with everything imported once. What remains is the converter's own time
(``--profile`` prints where it goes).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import random
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
DOC = REPO / "docs" / "fuzz.md"
GENERATORS = ("random", "mutated", "renamed", "spliced")
STYLES = ("pytorch_lightning", "lightning")
#: names the converter introduces (hook parameters, attributes, locals): renaming a script's own
#: names to these must not produce code that does not compile
CONVERTER_NAMES = ("batch", "batch_idx", "i", "optimizer", "self", "loss", "trainer", "outputs", "model",
                   "pl", "L", "lit_model", "scheduler", "dataloader_idx", "args", "kwargs")
LINT_HEADER = "import torch\nimport pytorch_lightning as pl\nimport lightning as L\nfrom torch.utils.data import DataLoader\n"
#: seconds one example may take before it is counted as slow and skipped
EXAMPLE_TIMEOUT = 30


# -- generators ---------------------------------------------------------------------------------


def fixture_sources() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*/original.py"))]


def random_programs(count: int, seed: int) -> list[str]:
    """``count`` hypothesmith programs (generation only: no shrinking, no database)."""
    import hypothesmith
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    programs: list[str] = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(hypothesmith.from_grammar())
    def collect(program: str) -> None:
        programs.append(program)

    collect()
    while len(programs) < count:  # hypothesis may stop early (duplicates): pad deterministically
        programs.append(programs[len(programs) % max(len(programs), 1)] if programs else "pass\n")
    return programs[:count]


def _statement_lists(tree: ast.AST) -> list[list[ast.stmt]]:
    lists = []
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                lists.append(body)
    return lists


class _Rename(ast.NodeTransformer):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id == self.old:
            node.id = self.new
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        if node.arg == self.old:
            node.arg = self.new
        return node


def _names(tree: ast.AST) -> list[str]:
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})


def mutate(source: str, rng: random.Random) -> str:
    """One to three edits: rename a name, drop, swap or duplicate a statement."""
    tree = ast.parse(source)
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(("rename", "drop", "swap", "duplicate"))
        if kind == "rename":
            old = rng.choice(_names(tree))
            new = rng.choice(("x", "model", "optimizer", "loss", "data", "epoch", "batch", old + "_2"))
            tree = _Rename(old, new).visit(tree)
            continue
        body = rng.choice(_statement_lists(tree))
        at = rng.randrange(len(body))
        if kind == "drop" and len(body) > 1:
            del body[at]
        elif kind == "swap" and at + 1 < len(body):
            body[at], body[at + 1] = body[at + 1], body[at]
        elif kind == "duplicate":
            body.insert(at, body[at])
    return ast.unparse(tree)


def _loop_variables(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.comprehension)):
            names += [n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)]
    return sorted(set(names))


def rename_to_converter_names(source: str, rng: random.Random) -> str:
    """Rename one to three loop variables (or the optimizer) to names the converter uses."""
    tree = ast.parse(source)
    candidates = _loop_variables(tree) + [n for n in ("optimizer", "opt", "model", "loss") if n in _names(tree)]
    for old in rng.sample(candidates, min(len(candidates), rng.randint(1, 3))):
        tree = _Rename(old, rng.choice(CONVERTER_NAMES)).visit(tree)
    return ast.unparse(tree)


def _loops(tree: ast.AST) -> list[ast.For]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.For)]


def splice(fixture: str, program: str, rng: random.Random) -> str:
    """Random statements inside one of a fixture's loops, or a fixture's training loop inside a
    random program."""
    try:
        random_tree = ast.parse(program)
    except SyntaxError:
        return fixture + "\n" + program
    tree = ast.parse(fixture)
    loops = _loops(tree)
    if rng.random() < 0.7 and loops and random_tree.body:
        loop = rng.choice(loops)
        at = rng.randint(0, len(loop.body))
        loop.body[at:at] = random_tree.body[: rng.randint(1, len(random_tree.body))]
        return ast.unparse(tree)
    training = [loop for loop in loops if "backward" in ast.unparse(loop)] or loops
    if not training:
        return fixture + "\n" + program
    body = random_tree.body
    body.insert(rng.randint(0, len(body)), rng.choice(training))
    return ast.unparse(random_tree)


def generate(kind: str, index: int, seed: int, fixtures: list[str], programs: list[str]) -> str:
    """Example ``index`` of generator ``kind`` (``programs`` are this chunk's random programs)."""
    rng = random.Random(f"{seed}:{kind}:{index}")
    fixture = rng.choice(fixtures)
    program = programs[index % len(programs)] if programs else "pass\n"
    if kind == "random":
        return program
    if kind == "mutated":
        return mutate(fixture, rng)
    if kind == "renamed":
        return rename_to_converter_names(fixture, rng)
    return splice(fixture, program, rng)


# -- the checks -------------------------------------------------------------------------------


@dataclass
class Outcome:
    index: int
    kind: str
    status: str = ""
    failure: str | None = None  #: "crash", "compile", "not-idempotent", "timeout" (None: fine)
    detail: str = ""
    seconds: float = 0.0


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def check(source: str, style: str, lint_config) -> tuple[str, str | None, str]:
    """Convert, compile, lint, convert again: ``(status, failure, detail)``."""
    from pl_convert.converter import ConvertOptions, Status, convert_source
    from pl_convert.rules import lint_source
    from pl_convert.sourcefile import SourceError

    stage = "convert"
    try:
        result = convert_source(source, ConvertOptions(import_style=style), path="fuzz.py")
        status = result.status.value
        if result.status in (Status.NOT_CONVERTIBLE, Status.UNPARSEABLE):
            if any("internal error" in r.message for r in result.reasons):
                return status, "crash", result.reasons[0].message
        stage = "lint"
        try:
            lint_source(LINT_HEADER + source, "fuzz.py", lint_config)
        except SourceError:
            pass
        if result.status is not Status.CONVERTED or result.output is None:
            return status, None, ""
        try:
            compile(result.output, "converted.py", "exec")
        except (SyntaxError, ValueError) as exc:
            return status, "compile", f"{type(exc).__name__}: {exc}"
        stage = "lint of the output"
        lint_source(result.output, "converted.py", lint_config)
        stage = "second convert"
        again = convert_source(result.output, ConvertOptions(import_style=style), path="converted.py")
        if again.status is not Status.ALREADY_LIGHTNING or again.output is not None:
            return status, "not-idempotent", f"second conversion: {again.status.value}"
        return status, None, ""
    except _Timeout:
        raise
    except Exception as exc:  # noqa: BLE001 - every exception is a finding
        return "", "crash", f"{stage}: {type(exc).__name__}: {exc}"


def run_chunk(task: tuple[int, int, int, str | None]) -> list[dict]:
    """Examples ``start .. start+count-1`` (one process, imports paid once)."""
    start, count, seed, failures_dir = task
    from pl_convert.rules.config import LintConfig

    lint_config = LintConfig(select=("ALL",))
    fixtures = fixture_sources()
    randoms = sum(1 for i in range(start, start + count) if GENERATORS[i % 4] in ("random", "spliced"))
    programs = random_programs(max(randoms, 1), seed + start) if randoms else []
    signal.signal(signal.SIGALRM, _alarm)
    outcomes = []
    for offset, index in enumerate(range(start, start + count)):
        kind = GENERATORS[index % len(GENERATORS)]
        outcome = Outcome(index, kind)
        begin = time.perf_counter()
        try:
            source = generate(kind, index, seed, fixtures, programs[offset:] + programs[:offset])
        except (SyntaxError, ValueError, RecursionError):  # a program ast cannot handle: take it as it is
            source = programs[offset % len(programs)] if programs else "pass\n"
        signal.alarm(EXAMPLE_TIMEOUT)
        try:
            outcome.status, outcome.failure, outcome.detail = check(source, STYLES[index % 2], lint_config)
        except _Timeout:
            outcome.failure, outcome.detail = "timeout", f"over {EXAMPLE_TIMEOUT} s"
        finally:
            signal.alarm(0)
        outcome.seconds = time.perf_counter() - begin
        if outcome.failure and failures_dir:
            folder = Path(failures_dir)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{index:06d}_{kind}_{outcome.failure}.py").write_text(
                f"# {outcome.failure}: {outcome.detail}\n# style: {STYLES[index % 2]}\n{source}", encoding="utf-8")
        outcomes.append(asdict(outcome))
    return outcomes


# -- the run and its summary --------------------------------------------------------------------


@dataclass
class Summary:
    examples: int
    jobs: int
    seconds: float
    per_kind: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    crashes: int = 0
    compile_failures: int = 0
    not_idempotent: int = 0
    timeouts: int = 0
    cpu_seconds_per_example: float = 0.0  #: mean time one example took in its worker
    slowest: float = 0.0
    failures: list[dict] = field(default_factory=list)  #: the first few, for the doc
    environment: str = ""
    date: str = ""

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        return self.crashes == self.compile_failures == self.not_idempotent == 0


def summarise(outcomes: list[dict], jobs: int, seconds: float) -> Summary:
    failures = Counter(o["failure"] for o in outcomes if o["failure"])
    durations = [o["seconds"] for o in outcomes]
    return Summary(
        examples=len(outcomes), jobs=jobs, seconds=seconds,
        per_kind=dict(sorted(Counter(o["kind"] for o in outcomes).items())),
        statuses=dict(sorted(Counter(o["status"] or "-" for o in outcomes).items())),
        crashes=failures["crash"], compile_failures=failures["compile"], not_idempotent=failures["not-idempotent"],
        timeouts=failures["timeout"],
        cpu_seconds_per_example=sum(durations) / len(durations) if durations else 0.0,
        slowest=max(durations, default=0.0),
        failures=[{k: o[k] for k in ("index", "kind", "failure", "detail")}
                  for o in sorted(outcomes, key=lambda o: o["index"]) if o["failure"]][:20],
        environment=environment(), date=time.strftime("%Y-%m-%d"),
    )  # fmt: skip


def environment() -> str:
    versions = [f"Python {platform.python_version()}"]
    for name in ("libcst", "hypothesis", "hypothesmith"):
        try:
            from importlib.metadata import version

            versions.append(f"{name} {version(name)}")
        except Exception:
            pass
    return ", ".join(versions) + f", {os.cpu_count()} CPUs"


def run(limit: int, jobs: int, seed: int, chunk: int, failures_dir: str | None, progress: bool = True) -> Summary:
    tasks = [(start, min(chunk, limit - start), seed, failures_dir) for start in range(0, limit, chunk)]
    outcomes: list[dict] = []
    begin = time.perf_counter()
    if jobs <= 1:
        results = map(run_chunk, tasks)
    else:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(jobs)
        results = pool.imap_unordered(run_chunk, tasks)
    for done in results:
        outcomes += done
        if progress:
            elapsed = time.perf_counter() - begin
            bad = sum(1 for o in outcomes if o["failure"] in ("crash", "compile", "not-idempotent"))
            print(f"{len(outcomes)}/{limit} examples, {len(outcomes) / elapsed:.1f}/s, failures {bad}",
                  file=sys.stderr, flush=True)
    if jobs > 1:
        pool.close()
        pool.join()
    return summarise(outcomes, jobs, time.perf_counter() - begin)


# -- docs/fuzz.md -------------------------------------------------------------------------------

DOC_HEAD = "<!-- Generated by `python benchmarks/bench_fuzz.py --write-doc`; do not edit by hand. -->"
FIGURES_START, FIGURES_END = "<!-- fuzz-figures: start -->", "<!-- fuzz-figures: end -->"


def render_doc(summary: Summary) -> str:
    """docs/fuzz.md: how the benchmark works (this module's docstring) and the figures of a run;
    the run's summary is kept as JSON in the page, so a test can re-render it."""
    how = __doc__.split("\n\n", 1)[1].strip()
    rows = [
        ("examples", f"{summary.examples:,} ({', '.join(f'{k} {v:,}' for k, v in summary.per_kind.items())})"),
        ("crashes", str(summary.crashes)),
        ("outputs failing compile()", str(summary.compile_failures)),
        ("non-idempotent outputs", str(summary.not_idempotent)),
        (f"over {EXAMPLE_TIMEOUT} s (skipped)", str(summary.timeouts)),
        ("statuses", ", ".join(f"{k} {v:,}" for k, v in summary.statuses.items())),
        ("wall time", f"{summary.seconds:.0f} s with {summary.jobs} job(s): {summary.rate:.1f} examples/s"),
        ("time per example", f"{summary.cpu_seconds_per_example * 1000:.0f} ms mean, {summary.slowest:.1f} s slowest"),
    ]
    table = "\n".join(["| figure | value |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows)])
    failures = "\n".join(f"* #{f['index']} ({f['kind']}): {f['failure']}: `{f['detail'][:160]}`"
                         for f in summary.failures) or "None."
    data = json.dumps(asdict(summary), sort_keys=True)
    return (
        f"# Fuzz benchmark\n\n{DOC_HEAD}\n\n```\n{how}\n```\n\n## Last run\n\n"
        f"Measured on {summary.date} with {summary.environment}.\n\n{FIGURES_START}\n{table}\n{FIGURES_END}\n\n"
        f"Failures (the first 20; `--failures DIR` keeps the programs):\n\n{failures}\n\n"
        f"<!-- fuzz-summary: {data} -->\n"
    )


def summary_in_doc(text: str) -> Summary | None:
    match = re.search(r"<!-- fuzz-summary: (\{.*\}) -->", text)
    return Summary(**json.loads(match.group(1))) if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10_000, help="number of examples (default 10,000)")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=25, help="examples per task given to a worker")
    parser.add_argument("--failures", metavar="DIR", help="write every failing program there")
    parser.add_argument("--json", metavar="FILE", help="write the summary as JSON")
    parser.add_argument("--write-doc", action="store_true", help=f"rewrite {DOC.relative_to(REPO)} with this run")
    parser.add_argument("--profile", action="store_true", help="one process, cProfile: where an example's time goes")
    parser.add_argument("--from-json", metavar="FILE", help="no run: take the summary a --json run wrote (with --write-doc)")
    args = parser.parse_args(argv)
    if args.from_json:
        summary = Summary(**json.loads(Path(args.from_json).read_text(encoding="utf-8")))
    elif args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        summary = run(args.limit, 1, args.seed, args.chunk, args.failures)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    else:
        summary = run(args.limit, args.jobs, args.seed, args.chunk, args.failures)
    print(json.dumps({**asdict(summary), "rate": summary.rate, "failures": summary.failures[:5]}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(summary), indent=1), encoding="utf-8")
    if args.write_doc:
        DOC.write_text(render_doc(summary), encoding="utf-8")
        print(f"wrote {DOC}", file=sys.stderr)
    return 0 if summary.clean else 1


if __name__ == "__main__":
    sys.path.insert(0, str(REPO.parent)) if not __package__ else None
    sys.exit(main())
