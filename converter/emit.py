"""Emit: render the plan into the script.

The LightningModule is generated from a short template (parsed by libcst) whose hook bodies are
then replaced by the user's own statements, so comments, blank lines and multi-line strings
inside them are kept exactly. The loop statements are replaced in place; everything else in the
file is left byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from .analysis import Picture, phase_functions
from .names import all_names, dotted, fresh_name, names_loaded_anywhere, usage_of
from .plan import HOOK_ORDER, Plan
from .result import Change, ConvertOptions, Note
from .devices import accelerator_argument
from .seeding import find_seed_groups
from .transforms import StripDeviceMoves, has_call

REVIEW_PREFIX = "# pl-convert: review — "

STEP_HOOKS = {"training_step", "validation_step", "test_step"}


@dataclass
class Emitted:
    code: str
    changes: list[Change] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def _class_name(picture: Picture) -> str:
    parts = []
    for cls in picture.model_classes or [picture.model_class]:
        base = cls.rsplit(".", 1)[-1] if cls else "Model"
        parts.append(base[:1].upper() + base[1:])
    return "Lit" + "".join(dict.fromkeys(parts))


def _hook_signature(hook: str, plan: Plan) -> str:
    if hook in STEP_HOOKS:
        return f"self, {plan.batch_params[hook]}, {plan.step_params[hook]}"
    return "self"


def _configure_optimizers_body(plan: Plan, indent: str) -> str:
    names = plan.optimizer_names
    optimizers = names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"
    if plan.mode == "manual" or not plan.configured_schedulers:
        return f"{indent}return {optimizers}\n"
    if len(names) != 1:
        return f"{indent}return {optimizers}\n"
    configs = []
    for fact, interval, monitor in plan.configured_schedulers:
        entry = f'{{"scheduler": {fact.name}, "interval": "{interval}"'
        if monitor:
            entry += f', "monitor": "{monitor}"'
        configs.append(entry + "}")
    if len(configs) == 1:
        return f'{indent}return {{"optimizer": {names[0]}, "lr_scheduler": {configs[0]}}}\n'
    return f"{indent}return [{names[0]}], [{', '.join(configs)}]\n"


def render_class(plan: Plan, class_name: str, base: str, indent: str, newline: str, notes: dict[str, str]) -> cst.ClassDef:
    picture = plan.picture
    models = picture.model_names or [picture.model_name]
    attr = plan.model_attr
    u = indent
    lines = [f"class {class_name}({base}):"]
    lines.append(f'{u}"""LightningModule made by pl-convert from the training loop of this script."""')
    lines.append("")
    lines.append(f"{u}def __init__(self, {', '.join(models)}):")
    lines.append(f"{u}{u}super().__init__()")
    for model in models:
        lines.append(f"{u}{u}self.{model} = {model}")
    if plan.mode == "manual":
        lines.append(f"{u}{u}self.automatic_optimization = False")
    lines.append("")
    lines.append(f"{u}def forward(self, *args, **kwargs):")
    lines.append(f"{u}{u}return self.{attr}(*args, **kwargs)")
    for hook in HOOK_ORDER:
        if not plan.hooks.get(hook):
            continue
        lines.append("")
        if hook in notes:
            lines.append(f"{u}{REVIEW_PREFIX}{notes[hook]}")
        lines.append(f"{u}def {hook}({_hook_signature(hook, plan)}):")
        lines.append(f"{u}{u}pass")
    lines.append("")
    lines.append(f"{u}def configure_optimizers(self):")
    lines.append(_configure_optimizers_body(plan, u + u).rstrip("\n"))
    text = newline.join(lines) + newline
    module = cst.parse_module(text, config=cst.PartialParserConfig(default_indent=indent, default_newline=newline))
    cls = module.body[0]
    assert isinstance(cls, cst.ClassDef)
    new_body = []
    for item in cls.body.body:
        if isinstance(item, cst.FunctionDef) and item.name.value in plan.hooks and plan.hooks[item.name.value]:
            statements = list(plan.hooks[item.name.value])
            statements[0] = statements[0].with_changes(leading_lines=_without_leading_blanks(statements[0].leading_lines))
            declared = plan.declarations.get(item.name.value, [])
            for keyword in ("nonlocal", "global"):
                names = [name for kw, name in declared if kw == keyword]
                if names:
                    statements.insert(0, cst.parse_statement(f"{keyword} {', '.join(names)}{newline}"))
            item = item.with_changes(body=item.body.with_changes(body=statements))
        new_body.append(item)
    return cls.with_changes(body=cls.body.with_changes(body=new_body))


def _without_leading_blanks(leading_lines):
    out = list(leading_lines)
    while out and out[0].comment is None:
        out.pop(0)
    return out


def _leading_blanks(stmt) -> list[cst.EmptyLine]:
    """The blank lines above a statement, before its first comment."""
    out = []
    for line in getattr(stmt, "leading_lines", ()):
        if line.comment is not None:
            break
        out.append(line)
    return out


def _emptied_if(stmt: cst.If) -> bool:
    """An ``if`` whose every branch lost all its statements (and whose test has no calls)."""
    node: cst.If | cst.Else | None = stmt
    while node is not None:
        if not isinstance(node.body, cst.IndentedBlock) or node.body.body:
            return False
        if isinstance(node, cst.If):
            if has_call(node.test):
                return False
            node = node.orelse
        else:
            node = None
    return True


def _all_branches_dropped(stmt: cst.If, drop) -> bool:
    node = stmt
    while node is not None:
        if not isinstance(node.body, cst.IndentedBlock) or not all(any(s is d for d in drop) for s in node.body.body):
            return False
        if isinstance(node, cst.If):
            if has_call(node.test):
                return False
            node = node.orelse
        else:
            node = None
    return True


class _Splice(cst.CSTTransformer):
    """Replace the loop region and the test loop, strip model device moves, drop statements."""

    def __init__(self, replacements: dict[cst.CSTNode, list[cst.BaseStatement]], model_assign, device_names, drop, region=None) -> None:
        self.replacements = replacements
        self.region = region
        self.markers: dict[int, cst.CSTNode] = {}  #: id -> the removed-statement marker (held, so ids stay unique)
        self.drop_comments: dict[int, str] = {}
        self.model_assign = model_assign
        self.device_names = device_names
        self.drop = drop

    def on_leave(self, original, updated):
        if original in self.replacements:
            new = self.replacements[original]
            if not new:
                return cst.RemoveFromParent()
            if original is not self.region and hasattr(original, "leading_lines"):
                first = new[0]
                new = [first.with_changes(leading_lines=list(original.leading_lines) + list(getattr(first, "leading_lines", [])))] + new[1:]
            return cst.FlattenSentinel(new)
        if any(original is d for d in self.drop):
            lines = _leading_blanks(original)
            comment = self.drop_comments.get(id(original))
            if comment:
                lines = lines + [cst.EmptyLine(comment=cst.Comment(comment))]
            marker = cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=lines)
            self.markers[id(marker)] = marker  # keeps the marker alive: its id must not be reused
            return marker
        if any(original is m for m in self.model_assign):
            return updated.visit(StripDeviceMoves(self.device_names))
        if isinstance(updated, (cst.Module, cst.IndentedBlock)):
            body = self._without_markers(list(updated.body))
            if self._left_over:  # a review comment whose statement was the block's last
                return updated.with_changes(body=body, footer=list(self._left_over) + list(updated.footer))
            return updated.with_changes(body=body)
        return updated

    def _without_markers(self, body: list) -> list:
        """Drop removed statements, handing their blank lines to the next statement."""
        out = []
        carried: list[cst.EmptyLine] = []
        for stmt in body:
            if isinstance(stmt, cst.If) and _emptied_if(stmt):
                stmt = cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=_leading_blanks(stmt))
                self.markers[id(stmt)] = stmt
            if id(stmt) in self.markers:
                carried = carried or list(stmt.leading_lines)
                continue
            if carried:
                existing = list(stmt.leading_lines)
                blanks = len(_leading_blanks(stmt))
                extra = max(0, len(carried) - blanks)
                stmt = stmt.with_changes(leading_lines=carried[:extra] + existing)
                carried = []
            out.append(stmt)
        self._left_over = [line for line in carried if line.comment is not None]
        return out


def emit(plan: Plan, options: ConvertOptions) -> Emitted:
    picture = plan.picture
    module = picture.module
    line = picture.lines.line
    span = picture.lines.span
    indent = module.default_indent
    newline = module.default_newline
    taken = all_names(module)
    class_name = fresh_name(_class_name(picture), taken)
    lit_name = fresh_name(f"lit_{picture.model_name}", taken)
    trainer_name = fresh_name("trainer", taken)
    alias = "L" if options.import_style == "lightning" else "pl"
    changes: list[Change] = []
    notes: list[Note] = []

    hook_notes: dict[str, str] = {}
    for note_line, message in plan.notes:
        hook_notes["training_step"] = message
        notes.append(Note(note_line, message))
    for hook, note_line, message in plan.hook_notes:
        hook_notes[hook] = f"{hook_notes[hook]}; {message}" if hook in hook_notes else message
        notes.append(Note(note_line, message))

    cls = render_class(plan, class_name, f"{alias}.LightningModule", indent, newline, hook_notes)
    accelerator, accel_note = accelerator_argument(picture)
    trainer_args = [f"max_epochs={picture.max_epochs}", f"accelerator={accelerator}", "devices=1"]
    if plan.gradient_clip is not None:
        algorithm, value = plan.gradient_clip
        trainer_args += [f"gradient_clip_val={value}", f'gradient_clip_algorithm="{algorithm}"']
        changes.append(Change(0, 0, f"gradient clipping → Trainer(gradient_clip_val={value}, gradient_clip_algorithm=\"{algorithm}\")"))
    trainer_args += plan.trainer_args
    if plan.tensorboard_dir is not None:
        trainer_args.append(f'logger={alias}.loggers.TensorBoardLogger({plan.tensorboard_dir}, name="", version="")')
        changes.append(Change(0, 0, f"SummaryWriter({plan.tensorboard_dir}) → Trainer(logger=TensorBoardLogger(...)) writing to the same directory"))
    for start_line, end_line, text in plan.lowering_changes:
        changes.append(Change(start_line, end_line, text))
    if picture.val is not None:
        trainer_args.append("num_sanity_val_steps=0")
    code = cst.Module([]).code_for_node
    fit_args = [lit_name, f"train_dataloaders={code(picture.train.loader)}"]
    if picture.val is not None:
        fit_args.append(f"val_dataloaders={code(picture.val.loader)}")
    region_stmts: list[cst.BaseStatement] = []
    for name in plan.bindings_needed:
        region_stmts.append(cst.parse_statement(f"{name} = None{newline}"))
    trainer_stmt = cst.parse_statement(f"{trainer_name} = {alias}.Trainer({', '.join(trainer_args)}){newline}")
    if accel_note:
        trainer_stmt = trainer_stmt.with_changes(leading_lines=[cst.EmptyLine(comment=cst.Comment(REVIEW_PREFIX + accel_note))])
        notes.append(Note(line(picture.region), accel_note))
    blank_count = 1 if plan.scope_is_function or picture.parents.block_owner(picture.region) is not module else 2
    blanks = [cst.EmptyLine(indent=False)] * blank_count
    cls = cls.with_changes(leading_lines=blanks)
    lit_stmt = cst.parse_statement(f"{lit_name} = {class_name}({', '.join(picture.model_names or [picture.model_name])}){newline}")
    region_lines = list(picture.region.leading_lines)
    while region_lines and region_lines[0].comment is None:
        region_lines.pop(0)  # the class above already stands apart
    lit_stmt = lit_stmt.with_changes(leading_lines=blanks + region_lines)
    region_stmts = [cls] + region_stmts + [
        lit_stmt,
        trainer_stmt,
        cst.parse_statement(f"{trainer_name}.fit({', '.join(fit_args)}){newline}"),
    ]
    replacements: dict[cst.CSTNode, list[cst.BaseStatement]] = {picture.region: region_stmts}
    start, end = span(picture.region)
    if picture.epoch_loop is not None:
        changes.append(Change(start, end, f"epoch loop → {alias}.Trainer(max_epochs={picture.max_epochs}).fit(...)"))
    tspan = span(picture.train.loop)
    changes.append(Change(tspan[0], tspan[1], "batch loop → training_step" + (" (manual optimization)" if plan.mode == "manual" else "")))
    if picture.val is not None:
        vspan = span(picture.val.loop)
        changes.append(Change(vspan[0], vspan[1], "evaluation loop → validation_step"))
    for fact, interval, monitor in plan.configured_schedulers:
        changes.append(Change(line(fact.step_stmt), line(fact.step_stmt), f"{fact.name}.step() → configure_optimizers (interval={interval!r}{', monitor=' + repr(monitor) if monitor else ''})"))

    test = picture.test
    if test is not None:
        test_call = cst.parse_statement(f"{trainer_name}.test({lit_name}, dataloaders={code(test.loader)}){newline}")
        new = [test_call]
        if test.function is not None and test.result_target is not None:
            new.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(test.result_target)], cst.parse_expression(f"{lit_name}.test_result"))]))
        replacements[test.holder] = new
        tspan = span(test.holder)
        changes.append(Change(tspan[0], tspan[1], f"test loop → test_step + {trainer_name}.test(...)"))

    drop: list[cst.BaseStatement] = []
    # model.to(device) / model.cuda() statements, and model.eval() right before the test loop
    for stmt in _scope_statements(picture):
        call = stmt.body[0].value if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr) else None
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and dotted(call.func.value) in picture.model_names:
            if call.func.attr.value in ("cuda",) or (call.func.attr.value == "to" and _only_device_args(call, picture.device_names)):
                drop.append(stmt)
                changes.append(Change(*span(stmt), f"removed {code(call)} (Lightning moves the model)"))
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
            value = stmt.body[0].value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and dotted(value.func.value) in picture.model_names and (
                value.func.attr.value == "cuda" or (value.func.attr.value == "to" and _only_device_args(value, picture.device_names))
            ) and dotted(stmt.body[0].targets[0].target) == dotted(value.func.value):
                drop.append(stmt)
                changes.append(Change(*span(stmt), f"removed {code(stmt.body[0])} (Lightning moves the model)"))
    data_parallel = []
    for stmt in _scope_statements(picture):
        if _is_data_parallel_wrap(stmt, picture):
            drop.append(stmt)
            data_parallel.append(stmt)
            message = (
                "nn.DataParallel removed: Lightning trains on the Trainer's devices; for several GPUs use "
                "Trainer(devices=N, strategy=\"ddp\") (each process then takes batch_size samples)"
            )
            notes.append(Note(line(stmt), message))
            changes.append(Change(*span(stmt), "removed nn.DataParallel (the Trainer places the model)"))
    if test is not None:
        siblings = _siblings(picture, test.holder)
        index = siblings.index(test.holder) if test.holder in siblings else -1
        if index > 0:
            previous = siblings[index - 1]
            call = previous.body[0].value if isinstance(previous, cst.SimpleStatementLine) and isinstance(previous.body[0], cst.Expr) else None
            if isinstance(call, cst.Call) and dotted(call.func) == f"{picture.model_name}.eval":
                drop.append(previous)
                changes.append(Change(*span(previous), f"removed {picture.model_name}.eval() (Lightning switches modes)"))
    # random/numpy/torch seeded together with one seed -> seed_everything (same streams)
    converted_region = {picture.region} | set(phase_functions(picture))
    for group in find_seed_groups(module, picture.imports):
        first = group.statements[0]
        if first in converted_region or any(a in converted_region for a in picture.parents.ancestors(first)):
            continue
        replacements[first] = [group.replacement(alias)]
        drop.extend(group.statements[1:])
        s, e = span(first)[0], span(group.statements[-1])[1]
        changes.append(Change(s, e, f"random/numpy/torch seeding → {alias}.seed_everything({group.seed})"))
    model_assigns = picture.model_assigns or ([picture.model_assign] if picture.model_assign is not None else [])
    for assign in model_assigns:
        if _has_device_move(assign, picture.device_names):
            s, e = span(assign)
            changes.append(Change(s, e, "removed the model's device move"))

    splice = _Splice(replacements, model_assigns, picture.device_names, drop, picture.region)
    first_pass = module.visit(splice)
    dp_comments = {id(stmt): REVIEW_PREFIX + n.message for stmt, n in zip(data_parallel, [n for n in notes if n.message.startswith("nn.DataParallel")])}

    # drop what is now unused: device selection, inlined train/test functions
    loads = names_loaded_anywhere(first_pass)
    inlined_away = set()
    for function in phase_functions(picture):
        if function not in drop and function.name.value not in loads:
            drop.append(function)
            inlined_away.add(function.name.value)
            s, e = span(function)
            changes.append(Change(s, e, f"def {function.name.value}(...) → inlined into the LightningModule"))
    if inlined_away:  # what only the removed functions read is unused now
        loads = names_loaded_anywhere(first_pass.with_changes(body=[
            stmt for stmt in first_pass.body if not (isinstance(stmt, cst.FunctionDef) and stmt.name.value in inlined_away)
        ]))
    for stmt in picture.device_assigns:
        names = usage_of(stmt).stores
        if names and not (names & loads) and stmt not in drop:
            drop.append(stmt)
            changes.append(Change(*span(stmt), "removed device selection (Lightning chooses the device)"))
    for stmt in plan.setup_to_drop:
        names = usage_of(stmt).stores
        if names and not (names & loads) and stmt not in drop:
            drop.append(stmt)
            changes.append(Change(*span(stmt), "removed the GradScaler (Lightning's precision plugin scales the loss)"))
    for stmt in _scope_statements(picture):
        if isinstance(stmt, cst.If) and stmt not in drop and _all_branches_dropped(stmt, drop):
            drop.append(stmt)
            s, e = span(stmt)
            changes.append(Change(s, e, "removed device selection (Lightning chooses the device)"))
    final_splice = _Splice(replacements, model_assigns, picture.device_names, drop, picture.region)
    final_splice.drop_comments = dp_comments
    new_module = module.visit(final_splice)

    new_module = _add_import(new_module, picture, alias, options)
    changes.append(Change(0, 0, f"added `{'import lightning as L' if alias == 'L' else 'import pytorch_lightning as pl'}`"))
    changes.sort(key=lambda c: (c.start_line, c.end_line))
    return Emitted(code=new_module.code, changes=changes, notes=notes)


DATA_PARALLEL = {"torch.nn.DataParallel", "torch.nn.parallel.DataParallel", "torch.nn.parallel.data_parallel.DataParallel"}


def _is_data_parallel_wrap(stmt, picture: Picture) -> bool:
    """``model = nn.DataParallel(model, ...)`` (possibly followed by ``.to(device)``)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign)):
        return False
    value = stmt.body[0].value
    while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value in ("to", "cuda"):
        value = value.func.value
    if not (isinstance(value, cst.Call) and picture.imports.qualified_call(value) in DATA_PARALLEL and value.args):
        return False
    target = dotted(stmt.body[0].targets[0].target)
    return target == picture.model_name and dotted(value.args[0].value) == picture.model_name


def _has_device_move(stmt, device_names) -> bool:
    stripper = StripDeviceMoves(device_names)
    stmt.visit(stripper)
    return stripper.removed > 0


def _only_device_args(call: cst.Call, device_names: set[str]) -> bool:
    from .transforms import _is_device_arg

    return bool(call.args) and all(_is_device_arg(a, device_names) or (a.keyword and a.keyword.value == "non_blocking") for a in call.args)


def _scope_statements(picture: Picture) -> list[cst.BaseStatement]:
    scope = picture.scope
    statements = list(scope.body.body) if isinstance(scope, cst.FunctionDef) else list(picture.module.body)
    out = []
    for stmt in statements:
        out.append(stmt)
        if isinstance(stmt, cst.If) and isinstance(stmt.body, cst.IndentedBlock):
            out.extend(stmt.body.body)
    return out


def _siblings(picture: Picture, stmt: cst.BaseStatement) -> list[cst.BaseStatement]:
    owner = picture.parents.block_owner(stmt)
    if owner is None:
        return []
    from .tree import body_of

    return body_of(owner)


def _add_import(module: cst.Module, picture: Picture, alias: str, options: ConvertOptions) -> cst.Module:
    text = "import lightning as L" if alias == "L" else "import pytorch_lightning as pl"
    stmt = cst.parse_statement(text + module.default_newline)
    body = list(module.body)
    index = 0 if body and _is_docstring(body[0]) else -1
    for i in range(index + 1, len(body)):
        item = body[i]
        if isinstance(item, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in item.body):
            index = i
        else:
            break
    body.insert(index + 1, stmt)
    return module.with_changes(body=body)


def _is_docstring(stmt) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
