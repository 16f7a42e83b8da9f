"""Emit: render the plan into the script (it decides nothing).

The LightningModule is generated from a short template (parsed by libcst) whose hook bodies are
then replaced by the user's own statements, so comments, blank lines and multi-line strings
inside them are kept exactly. The loop statements are replaced in place, the plan's removals and
replacements spliced in (:mod:`.splice`); everything else in the file is left byte-identical.
"""

from __future__ import annotations

import libcst as cst

from .plan import HOOK_ORDER, STEP_HOOKS, Mode, NotePlace, Plan, Removal, Replacement, Rewrite
from .result import ConvertOptions
from .splice import splice
from .wrapping import wrap_bracketed, wrap_text
from .tree import is_docstring

REVIEW_PREFIX = "# pl-convert: review — "


def emit(plan: Plan, options: ConvertOptions) -> str:
    """The converted script's text."""
    facts = plan.facts
    module = facts.script.module
    newline = module.default_newline
    markers = options.review_markers
    replacements = [Replacement(facts.region, _region(plan, markers), keep_leading_lines=False)]
    rewrites = list(plan.rewrites)
    if plan.lifted is not None:
        rewrites.append(Rewrite(plan.lifted.before, _class_above(_lifted_class(plan, markers), newline)))
    if plan.trainer_at is not None:
        replacements.append(Replacement(plan.trainer_at, [_trainer(plan, markers)]))
    if plan.test is not None:
        replacements.append(Replacement(plan.test.holder, _test_call(plan)))
    if plan.built_model is not None:
        replacements.append(render_model_construction(plan, markers))
    replacements += plan.replacements
    comments = {id(n.statement): REVIEW_PREFIX + n.message for n in plan.notes if n.place is NotePlace.REMOVED_STATEMENT and markers}
    removals = [Removal(r.statement, comments.get(id(r.statement))) for r in plan.removals]
    converted = splice(module, replacements, removals, rewrites)
    for line in reversed(plan.imports):
        converted = _with_import(converted, line + newline)
    return _with_import(converted, plan.import_statement + newline).code


def render_region(plan: Plan) -> list[cst.BaseStatement]:
    """What replaces the converted region, with the class wherever it goes (the planner
    previews it for the names the converted script reads)."""
    lifted = [_lifted_class(plan, markers=True)] if plan.lifted is not None else []
    return lifted + _region(plan, markers=True)


def render_model_construction(plan: Plan, markers: bool) -> Replacement:
    """The model's statement when the module builds it: ``lit = LitX(<hyperparameters>)`` and
    ``model = lit.model`` (with the class above it when the class is not lifted elsewhere)."""
    built = plan.built_model
    facts = plan.facts
    module = facts.script.module
    newline = module.default_newline
    stmt = built.statement
    arguments, keywords = [], False
    for param, code in built.parameters.items():
        keywords = keywords or code != param
        arguments.append(f"{param}={code}" if keywords else code)
    if plan.lifted is not None:
        arguments += [f"{name}={name}" for name in plan.lifted.arguments]
        arguments += [f"{name}={name}" for name in plan.lifted.state if name in plan.lifted.state_initial]
    lit = _wrapped_statement(plan, stmt, f"{plan.instance_name} = {plan.class_name}(", arguments, ")")
    model = facts.forward_model.name
    unwrapped = cst.parse_statement(f"{model} = {plan.instance_name}.{model}{newline}")
    own = list(stmt.leading_lines)
    if plan.lifted is not None:
        return Replacement(stmt, [lit.with_changes(leading_lines=own), unwrapped], keep_leading_lines=False)
    blanks = [cst.EmptyLine(indent=False)] * (2 if facts.script.parents.block_owner(stmt) is module else 1)
    cls = render_class(plan, module.default_indent, newline, _hook_comments(plan, markers)).with_changes(leading_lines=blanks)
    comments = [line for line in own if line.comment is not None]
    return Replacement(stmt, [cls, lit.with_changes(leading_lines=blanks + comments), unwrapped], keep_leading_lines=False)


def _lifted_class(plan: Plan, markers: bool) -> cst.ClassDef:
    module = plan.facts.script.module
    return render_class(plan, module.default_indent, module.default_newline, _hook_comments(plan, markers))


def _class_above(cls: cst.ClassDef, newline: str):
    """A rewrite of the module-level statement holding the loop: the class goes above it."""

    def edit(statement):
        blanks = [cst.EmptyLine(indent=False)] * 2
        own = list(statement.leading_lines)
        cls_lines = [line for line in own if line.comment is None] or blanks
        comments = [line for line in own if line.comment is not None]
        return cst.FlattenSentinel([cls.with_changes(leading_lines=cls_lines), statement.with_changes(leading_lines=blanks + comments)])

    return edit


def _hook_comments(plan: Plan, markers: bool) -> dict[str, str]:
    hook_comments: dict[str, str] = {}
    for note in plan.notes:
        if note.place is NotePlace.HOOK and markers:
            hook_comments[note.hook] = f"{hook_comments[note.hook]}; {note.message}" if note.hook in hook_comments else note.message
    return hook_comments


def render_trainer(plan: Plan) -> cst.BaseStatement:
    """The Trainer's construction (the planner previews it where ``plan.trainer_at`` says)."""
    return _trainer(plan, markers=True)


def _trainer(plan: Plan, markers: bool) -> cst.BaseStatement:
    """``trainer = pl.Trainer(...)``, with the review notes about it above."""
    newline = plan.facts.script.module.default_newline
    trainer_args = [arg.render() for arg in plan.ordered_trainer_args()]
    where = plan.trainer_at if plan.trainer_at is not None else plan.facts.region
    trainer = _wrapped_statement(plan, where, f"{plan.trainer_name} = {plan.alias}.Trainer(", trainer_args, ")")
    trainer_notes = [n.message for n in plan.notes if n.place is NotePlace.TRAINER]
    if trainer_notes and markers:
        trainer = trainer.with_changes(leading_lines=[cst.EmptyLine(comment=cst.Comment(REVIEW_PREFIX + m)) for m in trainer_notes])
    return trainer


def render_test_call(plan: Plan) -> list[cst.BaseStatement]:
    return _test_call(plan)


def _region(plan: Plan, markers: bool) -> list[cst.BaseStatement]:
    """The LightningModule class, ``lit = LitX(model)``, the Trainer and ``trainer.fit(...)``."""
    facts = plan.facts
    module = facts.script.module
    newline = module.default_newline
    statements: list[cst.BaseStatement] = [cst.parse_statement(f"{name} = None{newline}") for name in plan.bindings_needed]
    trainer = [_trainer(plan, markers)] if plan.trainer_at is None else []
    in_function = isinstance(facts.scope, cst.FunctionDef) or facts.script.parents.block_owner(facts.region) is not module
    blanks = [cst.EmptyLine(indent=False)] * (1 if in_function else 2)
    arguments = list(facts.model_names)
    if plan.lifted is not None:
        arguments += [f"{name}={name}" for name in plan.lifted.arguments]
        arguments += [f"{name}={name}" for name in plan.lifted.state if name in plan.lifted.state_initial]
    lit = _wrapped_statement(plan, facts.region, f"{plan.instance_name} = {plan.class_name}(", arguments, ")")
    region_lines = list(facts.region.leading_lines)
    while region_lines and region_lines[0].comment is None:
        region_lines.pop(0)  # the class above already stands apart
    lit = lit.with_changes(leading_lines=blanks + region_lines)
    fit_args = ", ".join([plan.instance_name] + [arg.render() for arg in plan.fit_loaders])
    fit = cst.parse_statement(f"{plan.trainer_name}.fit({fit_args}){newline}")
    if plan.built_model is not None:  # the module was constructed where the model was built
        rest = statements + trainer + [fit]
        rest[0] = rest[0].with_changes(leading_lines=blanks[:1] + region_lines + list(rest[0].leading_lines))
        return rest + (_written_back(plan, plan.lifted.state) if plan.lifted is not None else [])
    if plan.lifted is not None:
        return statements + [lit] + trainer + [fit] + _written_back(plan, plan.lifted.state)
    cls = render_class(plan, module.default_indent, newline, _hook_comments(plan, markers)).with_changes(leading_lines=blanks)
    return [cls] + statements + [lit] + trainer + [fit]


def _written_back(plan: Plan, names) -> list[cst.BaseStatement]:
    """``best = lit_model.best``: the function's names the hooks assigned, for the code after."""
    newline = plan.facts.script.module.default_newline
    return [cst.parse_statement(f"{name} = {plan.instance_name}.{plan.lifted.state[name]}{newline}") for name in names]


def _test_call(plan: Plan) -> list[cst.BaseStatement]:
    """``trainer.test(...)`` (and the test function's result) in place of the test loop."""
    newline = plan.facts.script.module.default_newline
    test = plan.test
    new = [cst.parse_statement(f"{plan.trainer_name}.test({plan.instance_name}, dataloaders={test.loader}){newline}")]
    if test.result_target is not None:
        value = cst.parse_expression(f"{plan.instance_name}.test_result")
        new.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(test.result_target)], value)]))
    if plan.lifted is not None:
        new += _written_back(plan, [n for n in plan.lifted.state if n in plan.lifted.write_back_after_test])
    return new


def render_class(plan: Plan, indent: str, newline: str, comments: dict[str, str]) -> cst.ClassDef:
    """The LightningModule: a template whose hook bodies are the plan's statements."""
    facts = plan.facts
    u = indent
    lifted = plan.lifted
    lines = [f"class {plan.class_name}({plan.alias}.LightningModule):"]
    # the docstring's own lines follow the class's indentation where it stands (an ``if`` block)
    where = plan.built_model.statement if plan.built_model is not None and lifted is None else plan.facts.region
    outer = _indent_of(plan, where) if lifted is None else ""
    docstring = _class_docstring(plan)
    lines += [(f"{u}{line}" if index == 0 else f"{outer}{u}{line}") if line else "" for index, line in enumerate(docstring)]
    lines.append("")
    built = plan.built_model
    params = list(built.parameters) if built is not None else list(facts.model_names)
    if lifted is not None:
        params += list(lifted.arguments) + [f"{name}=None" for name in lifted.state if name in lifted.state_initial]
    lines.append(f"{u}def __init__({', '.join(['self'] + params)}):")
    lines.append(f"{u}{u}super().__init__()")
    if built is not None:
        ignore = f"ignore={built.ignored!r}".replace("'", '"') if built.ignored else ""
        if _records_hyperparameters(params, built):  # nothing to record: no call
            lines.append(f"{u}{u}self.save_hyperparameters({ignore})")
        call = built.call.replace("\n", newline + u * 2)
        lines.append(f"{u}{u}self.{facts.forward_model.name} = {call}")
        lines += [f"{u}{u}" + edit.replace("\n", newline + u * 2) for edit in built.edits]
    else:
        for model in facts.model_names:
            lines.append(f"{u}{u}self.{model} = {model}")
    if lifted is not None:
        for name, attribute in lifted.arguments.items():
            lines.append(f"{u}{u}self.{attribute} = {name}")
        for name, attribute in lifted.state.items():
            lines.append(f"{u}{u}self.{attribute} = {name if name in lifted.state_initial else 'None'}")
    if plan.mode is Mode.MANUAL:
        lines.append(f"{u}{u}self.automatic_optimization = False")
    lines.append("")
    lines.append(f"{u}def forward(self, *args, **kwargs):")
    lines.append(f"{u}{u}return self.{facts.forward_model.name}(*args, **kwargs)")
    for name in HOOK_ORDER:
        hook = plan.hooks.get(name)
        if hook is None or not hook.statements:
            continue
        lines.append("")
        if name in comments:
            lines.append(f"{u}{REVIEW_PREFIX}{comments[name]}")
        signature = f"self, {hook.batch_param}, {hook.index_param}" if name in STEP_HOOKS else "self"
        lines.append(f"{u}def {name}({signature}):")
        lines.append(f"{u}{u}pass")
    for helper in plan.class_helpers:
        lines.append("")
        for line in helper.splitlines():
            stripped = line.lstrip(" ")
            lines.append(u * (1 + (len(line) - len(stripped)) // 4) + stripped if stripped else "")
    lines.append("")
    lines.append(f"{u}def configure_optimizers(self):")
    lines += _return_lines(plan, u)
    text = newline.join(lines) + newline
    parsed = cst.parse_module(text, config=cst.PartialParserConfig(default_indent=indent, default_newline=newline))
    cls = parsed.body[0]
    assert isinstance(cls, cst.ClassDef)
    new_body = []
    for item in cls.body.body:
        hook = plan.hooks.get(item.name.value) if isinstance(item, cst.FunctionDef) else None
        if hook is not None and hook.statements:
            statements = list(hook.statements)
            statements[0] = statements[0].with_changes(leading_lines=_without_leading_blanks(statements[0].leading_lines))
            for keyword in ("nonlocal", "global"):  # each goes first: `global` ends up above `nonlocal`
                names = [d.name for d in hook.declarations if d.keyword == keyword]
                if names:
                    statements.insert(0, cst.parse_statement(f"{keyword} {', '.join(names)}{newline}"))
            item = item.with_changes(body=item.body.with_changes(body=statements))
        elif isinstance(item, cst.FunctionDef) and item.name.value == "configure_optimizers" and plan.optimizer_setup:
            setup = list(plan.optimizer_setup)
            setup[0] = setup[0].with_changes(leading_lines=_without_leading_blanks(setup[0].leading_lines))
            item = item.with_changes(body=item.body.with_changes(body=setup + list(item.body.body)))
        new_body.append(item)
    return cls.with_changes(body=cls.body.with_changes(body=new_body))


def _indent_of(plan: Plan, statement: cst.CSTNode) -> str:
    """The indentation ``statement`` has in the script."""
    parents = plan.facts.script.parents
    depth = sum(isinstance(a, cst.IndentedBlock) for a in parents.ancestors(statement))
    return plan.facts.script.module.default_indent * depth


def _wrapped_statement(plan: Plan, where: cst.CSTNode, head: str, items: list[str], close: str) -> cst.BaseStatement:
    """A generated ``head(items)`` statement where ``where`` stands, wrapped as black would."""
    module = plan.facts.script.module
    indent = _indent_of(plan, where)
    text = wrap_bracketed(indent, head, items, close, module.default_indent, plan.line_length)
    text = "\n".join(line[len(indent):] if line.startswith(indent) else line for line in text.split("\n"))
    return cst.parse_statement(text.replace("\n", module.default_newline) + module.default_newline)


def _return_lines(plan: Plan, u: str) -> list[str]:
    """``return ...`` of ``configure_optimizers``; a dictionary wrapped as black would."""
    returned = _optimizers_returned(plan)
    if returned.startswith("{") and len(u * 2 + "return " + returned) > plan.line_length:
        items = _top_level_items(returned[1:-1])
        return wrap_bracketed(u * 2, "return {", items, "}", u, plan.line_length).split("\n")
    return [f"{u}{u}return {returned}"]


def _top_level_items(text: str) -> list[str]:
    """The comma-separated items of a bracket's contents (commas inside brackets stay)."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:index].strip())
            start = index + 1
    items.append(text[start:].strip())
    return [item for item in items if item]


def _records_hyperparameters(params: list[str], built) -> bool:
    """Does ``save_hyperparameters`` have anything to record (a parameter it does not ignore)?"""
    return any(param.split("=")[0] not in built.ignored for param in params)


def _class_docstring(plan: Plan) -> list[str]:
    """The class docstring: where it comes from, and what ``load_from_checkpoint`` needs."""
    lifted = plan.lifted
    built = plan.built_model
    where = (lifted.where or f"``{lifted.function}()``") if lifted is not None else "this script"
    cls = plan.class_name
    if built is not None and not built.ignored and not built.parameters:
        text = (
            f"It builds the model itself, from constants, so ``{cls}.load_from_checkpoint(path)`` "
            "rebuilds the trained module."
        )
    elif built is not None and not built.ignored:
        text = (
            "It builds the model from its hyperparameters, which ``save_hyperparameters()`` records in "
            f"every checkpoint, so ``{cls}.load_from_checkpoint(path)`` rebuilds the trained module."
        )
    elif built is not None:
        keywords = ", ".join(f"{name}=..." for name in built.ignored)
        text = (
            "It builds the model from its hyperparameters, which ``save_hyperparameters()`` records; "
            f"the objects of {where} that the loop used are not recorded, so "
            f"``{cls}.load_from_checkpoint(path, {keywords})`` needs {'them' if len(built.ignored) > 1 else 'it'} again."
        )
    else:
        needed = list(plan.facts.model_names) + (list(lifted.arguments) if lifted is not None else [])
        keywords = ", ".join(f"{name}=..." for name in needed)
        objects = f"Its arguments are the objects of {where} that the loop used" if lifted is not None else "It takes the model the script built"
        text = (
            f"{objects}; a checkpoint keeps only the weights, so "
            f"``{cls}.load_from_checkpoint(path, {keywords})`` needs {'them' if len(needed) > 1 else 'it'} again"
            + (f" (the model is passed in: {plan.model_kept})." if plan.model_kept else ".")
        )
    indent = plan.facts.script.module.default_indent
    scaling = []
    if plan.mode is Mode.MANUAL and len(plan.facts.optimizers) > 1:
        scaling = ["", *wrap_text(indent, (
            "Each optimizer's step leaves the other optimizers' parameters without gradients, which DDP "
            'refuses by default: on several devices use ``strategy="ddp_find_unused_parameters_true"``.'
        ), plan.line_length)]
    return [
        f'"""LightningModule made by pl-convert from the training loop of {where}.',
        "",
        *wrap_text(indent, text, plan.line_length),
        *scaling,
        '"""',
    ]


def _optimizers_returned(plan: Plan) -> str:
    """What ``configure_optimizers`` returns."""
    names = [_as_attribute(plan, o.name) for o in plan.facts.optimizers]
    optimizers = names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"
    if plan.mode is Mode.MANUAL or not plan.schedulers or len(names) != 1:
        return optimizers
    configs = []
    for config in plan.schedulers:
        entry = f'{{"scheduler": {_as_attribute(plan, config.fact.name)}, "interval": "{config.interval}"'
        if config.monitor:
            entry += f', "monitor": "{config.monitor}"'
        configs.append(entry + "}")
    if len(configs) == 1:
        return f'{{"optimizer": {names[0]}, "lr_scheduler": {configs[0]}}}'
    return f"[{names[0]}], [{', '.join(configs)}]"


def _as_attribute(plan: Plan, name: str) -> str:
    """``self.<attribute>`` for a name of the enclosing function the class was given."""
    attribute = plan.lifted.attribute(name) if plan.lifted is not None else None
    return f"self.{attribute}" if attribute else name


def _without_leading_blanks(leading_lines):
    out = list(leading_lines)
    while out and out[0].comment is None:
        out.pop(0)
    return out


def _with_import(module: cst.Module, import_line: str) -> cst.Module:
    """The Lightning import after the module's leading imports (and docstring)."""
    stmt = cst.parse_statement(import_line)
    body = list(module.body)
    index = 0 if body and is_docstring(body[0]) else -1
    for i in range(index + 1, len(body)):
        item = body[i]
        if isinstance(item, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in item.body):
            index = i
        else:
            break
    body.insert(index + 1, stmt)
    return module.with_changes(body=body)
