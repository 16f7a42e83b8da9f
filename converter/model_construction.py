"""The LightningModule builds the model itself, from hyperparameters it records.

Lightning's contract for a module is that ``LitX.load_from_checkpoint(path)``, with no other
argument, rebuilds the trained module: the constructor's arguments must be values that
``self.save_hyperparameters()`` records in the checkpoint. A model object passed in is not one.
So when the script builds the trained model once, from values only (``model =
Net(hidden_size, args.dropout).to(device)``), the module takes those values as its arguments and
builds ``self.model = Net(hidden_size, dropout)`` itself, and the script's statement becomes::

    lit_model = LitNet(hidden_size, dropout=args.dropout)
    model = lit_model.model

at the same place: the model is built at the same point of the script (``LightningModule.
__init__`` and ``save_hyperparameters`` draw no random numbers), and everything after (the
optimizer, evaluation, ``torch.save(model.state_dict())``) sees the same object.

A value is a hyperparameter when it is a literal, a name only ever bound to a constant
expression (module level or in the function: ``hidden = 128``, ``world_size =
int(os.environ["WORLD_SIZE"])``, ``ntokens = len(corpus.dictionary)``: ``int``, ``float``,
``str``, ``bool``, ``len`` and ``round`` give a plain value whatever they read), a parameter annotated ``int``/``float``/``str``/``bool``, or an
attribute of the argparse namespace (``args.lr`` of ``args = parser.parse_args()``) or of a
``@dataclass`` config. The namespace and a config themselves are not recorded (``torch.load``'s
weights-only loading, which ``load_from_checkpoint`` uses, rejects them): the argparse values the
hooks read become hyperparameters as well (:mod:`.namespace_values`: ``self.hparams.log_interval``)
and the loaders they read only for their size are the Trainer's (:mod:`.trainer_loaders`). The
other objects the hooks read (the criterion, a loader they iterate, a namespace they read whole)
go in ``save_hyperparameters(ignore=[...])`` and the class docstring names them.

Edits right after the build (``model.conv1 = nn.Conv2d(1, 64, 7)``, only removed device moves
between) run in ``__init__`` after it, in the same order. Nothing changes (and the docstring says
what ``load_from_checkpoint`` needs) when the model is bound more than once (``model =
nn.DataParallel(model)`` kept), edited later on, built from a runtime object (another module, a dataset),
by a callee not defined or imported at module level, or when an object the hooks read is
bound only after the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from ..api_knowledge import dotted_name
from .names import fresh_name, param_names, usage_of
from .plan import Plan
from .transforms import substitute_names
from .tree import code_of

#: builtins whose result is a plain value whatever their argument
_VALUE_BUILTINS = {"int", "float", "str", "bool", "len", "round"}
_VALUE_ANNOTATIONS = {"int", "float", "str", "bool"}
#: kinds of a name's value
VALUE, NAMESPACE, CONFIG = "value", "namespace", "config"


@dataclass(eq=False)
class BuiltModel:
    """The model built by the LightningModule (``Plan.built_model``)."""

    statement: cst.BaseStatement  #: the model's assignment, replaced by the module's construction
    call: str  #: the model's construction inside ``__init__`` (code, in the parameters' names)
    parameters: dict[str, str] = field(default_factory=dict)  #: ``__init__`` parameter -> the script's code
    ignored: list[str] = field(default_factory=list)  #: constructor arguments not recorded (objects)
    edits: list[str] = field(default_factory=list)  #: ``self.model.fc = nn.Linear(...)``: edits right after the build (code)
    edited: list[cst.BaseStatement] = field(default_factory=list)  #: the script's statements of those edits


def build_model_in_module(plan: Plan) -> None:
    """Record in ``plan.built_model`` that the module builds the model, or in
    ``plan.model_kept`` why it is passed in (for the class docstring)."""
    decision = _decide(plan)
    if isinstance(decision, str):
        plan.model_kept = decision
        return
    plan.built_model = decision
    for stmt in decision.edited:
        plan.remove(stmt, "the LightningModule edits the model it builds")
    # the devices idiom's copy of the statement without `.to(device)`: the construction replaces it
    plan.replacements = [r for r in plan.replacements if r.statement is not decision.statement]
    plan.change(decision.statement, "the LightningModule builds the model from its hyperparameters (save_hyperparameters)")


class Scope:
    """The bindings the decision reads: the module's, and the function's the loop runs in."""

    def __init__(self, plan: Plan) -> None:
        facts = plan.facts
        self.plan = plan
        self.module = facts.script.module
        self.function = facts.scope if isinstance(facts.scope, cst.FunctionDef) else None
        self.module_defined: set[str] = set()
        self.dataclasses: set[str] = set()
        for stmt in self.module.body:
            if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
                self.module_defined.add(stmt.name.value)
                if isinstance(stmt, cst.ClassDef) and any(
                    (dotted_name(d.decorator) or dotted_name(getattr(d.decorator, "func", None)) or "").split(".")[-1] == "dataclass"
                    for d in stmt.decorators
                ):
                    self.dataclasses.add(stmt.name.value)
            elif isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body):
                self.module_defined |= usage_of(stmt).stores
        self.function_bound = set()
        if self.function is not None:
            self.function_bound = set(param_names(self.function.params)) | usage_of(*self.function.body.body).stores
        self._kinds: dict[str, str | None] = {}

    def is_module_definition(self, name: str) -> bool:
        """A class, function or import of the module that the function does not rebind."""
        return name in self.module_defined and name not in self.function_bound and not self._assigned_at_module(name)

    def _assigned_at_module(self, name: str) -> bool:
        return any(
            name in usage_of(stmt).stores
            for stmt in self.module.body
            if not isinstance(stmt, (cst.ClassDef, cst.FunctionDef))
            and not (isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body))
        )

    def kind(self, name: str) -> str | None:
        """VALUE, NAMESPACE or CONFIG for a name whose every binding says what it holds, else None."""
        if name not in self._kinds:
            self._kinds[name] = None  # a name defined from itself is not a value
            self._kinds[name] = self._kind(name)
        return self._kinds[name]

    def _kind(self, name: str) -> str | None:
        if self.function is not None and name in self.function_bound:
            for param in _params(self.function.params):
                if param.name.value == name:
                    annotation = dotted_name(param.annotation.annotation) if param.annotation else None
                    return VALUE if annotation in _VALUE_ANNOTATIONS and name not in usage_of(*self.function.body.body).stores else None
            statements = self.function.body.body
        else:
            statements = self.module.body
        kinds = set()
        for stmt in _statements_binding(statements, name):
            value = _assigned_value(stmt, name)
            if value is None or self.plan.is_removed(stmt):
                return None
            kinds.add(self.value_kind(value))
        return kinds.pop() if len(kinds) == 1 else None

    def value_kind(self, value: cst.BaseExpression) -> str | None:
        """What an expression bound to a name holds: VALUE (a constant expression), NAMESPACE
        (``parser.parse_args()``), CONFIG (a module-level dataclass instance), or None."""
        if isinstance(value, cst.Call):
            callee = dotted_name(value.func)
            if isinstance(value.func, cst.Attribute) and value.func.attr.value == "parse_args":
                return NAMESPACE
            if callee in self.dataclasses and self.is_module_definition(callee):
                return CONFIG
            if callee in _VALUE_BUILTINS and callee not in self.module_defined and callee not in self.function_bound:
                return VALUE
            return None
        return VALUE if self.is_constant(value) else None

    def is_constant(self, node: cst.BaseExpression) -> bool:
        """A literal, or an expression of literals and names holding values."""
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
            return True
        if isinstance(node, cst.ConcatenatedString):
            return self.is_constant(node.left) and self.is_constant(node.right)
        if isinstance(node, cst.Name):
            return node.value in ("True", "False", "None") or self.kind(node.value) == VALUE
        if isinstance(node, cst.Attribute):
            root = dotted_name(node.value)
            return root is not None and "." not in root and self.kind(root) in (NAMESPACE, CONFIG)
        if isinstance(node, cst.UnaryOperation):
            return self.is_constant(node.expression)
        if isinstance(node, cst.BinaryOperation):
            return self.is_constant(node.left) and self.is_constant(node.right)
        if isinstance(node, (cst.Tuple, cst.List)):
            return all(not isinstance(e, cst.StarredElement) and self.is_constant(e.value) for e in node.elements)
        return False


def _decide(plan: Plan) -> BuiltModel | str:
    facts = plan.facts
    if len(facts.models) != 1:
        return "the script trains several models"
    model = facts.forward_model
    stmt = model.assign
    if stmt is None or plan.is_removed(stmt):
        return f"the script does not build ``{model.name}`` in the function that trains it"
    parents = facts.script.parents
    owner = parents.block_owner(stmt)
    if owner is not parents.block_owner(facts.region):
        where = f"``{facts.scope.name.value}()``" if isinstance(facts.scope, cst.FunctionDef) else "the training loop's block"
        return f"``{model.name}`` is built outside {where}"
    body = list(owner.body) if isinstance(owner, cst.Module) else list(getattr(owner.body, "body", ()))
    if not any(s is stmt for s in body):
        return f"``{model.name}`` is built in another block than the training loop's"
    start = next(i for i, s in enumerate(body) if s is stmt)
    end = next((i for i, s in enumerate(body) if s is facts.region), None)
    if end is None or end < start:
        return f"``{model.name}`` is built after the training loop starts"
    value = _stripped_value(plan, stmt, model.name)
    if not isinstance(value, cst.Call):
        return f"``{model.name}`` is not built by a call"
    scope = Scope(plan)
    rebound = _rebinding(plan, scope, stmt, model.name)
    if rebound is not None:
        return f"``{model.name}`` is bound again ({rebound})"
    lifted = plan.lifted
    shared = dict(lifted.arguments) if lifted is not None else {}
    taken = {"self", *facts.model_names, *shared}
    if lifted is not None:
        taken |= set(lifted.state)
    parameters: dict[str, str] = {}  #: parameter -> code at the call site
    by_code: dict[str, str] = {}  #: code at the call site -> parameter
    callee = dotted_name(value.func)
    if callee is None or not scope.is_module_definition(callee.split(".")[0]):
        return f"``{code_of(value.func)}`` is not defined or imported at module level"
    problem = _parameters(scope, value, shared, taken, parameters, by_code)
    if problem is not None:
        return problem
    # edits right after the build (``model.conv1 = nn.Conv2d(1, 64, 7)``) run in __init__ too: the
    # statements between them are only the device moves the conversion removes, so no random
    # number is drawn in another order
    edited, edits = [], []
    index = start + 1
    while index < end:
        following = body[index]
        if plan.is_removed(following):
            index += 1
            continue
        target, edit_value = _model_edit(following, model.name)
        if target is None or _parameters(scope, edit_value, shared, taken, parameters, by_code) is not None:
            break
        edited.append(following)
        edits.append((following, target, edit_value))
        index += 1
    changed = _changed_after(body[index:end], model.name)
    if changed is not None:
        return f"the script changes the model after building it (``{changed}``)"
    names = {code: cst.Name(param) for code, param in by_code.items() if "." not in code}
    attributes = _AttributesToNames({code: param for code, param in by_code.items() if "." in code})
    call = substitute_names(value, names).visit(attributes)
    edit_code = []
    for following, target, edit_value in edits:
        new_value = substitute_names(edit_value, names).visit(attributes)
        new_target = substitute_names(target, {model.name: cst.parse_expression(f"self.{model.name}")})
        comments = [line.comment.value for line in following.leading_lines if line.comment is not None]
        edit_code += comments + [f"{code_of(new_target)} = {code_of(new_value)}"]

    ignored: list[str] = []
    if lifted is not None:
        needed = list(lifted.arguments) + [n for n in lifted.state if n in lifted.state_initial]
        late = _bound_late(scope, body, start, end, needed)
        if late:
            return f"the hooks read {', '.join(f'``{n}``' for n in late)}, which the script binds after the model"
        ignored = [n for n in needed if scope.kind(n) != VALUE]
    return BuiltModel(stmt, code_of(call), parameters, ignored, edit_code, edited)


def _params(params: cst.Parameters):
    yield from params.posonly_params
    yield from params.params
    yield from params.kwonly_params


def _stripped_value(plan: Plan, stmt: cst.BaseStatement, name: str) -> cst.BaseExpression | None:
    """The model's construction, without the device move the devices idiom removes."""
    for replacement in plan.replacements:
        if replacement.statement is stmt:
            if len(replacement.statements) != 1:
                return None
            stmt = replacement.statements[0]
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign)):
        return None
    assign = stmt.body[0]
    if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name) or assign.targets[0].target.value != name:
        return None
    return assign.value


def _statements_binding(statements, name: str) -> list[cst.BaseStatement]:
    return [stmt for stmt in statements if name in usage_of(stmt).stores]


def _assigned_value(stmt: cst.BaseStatement, name: str) -> cst.BaseExpression | None:
    """``value`` of ``name = value`` / ``name: T = value``; None for any other binding."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    small = stmt.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        return small.value if small.targets[0].target.value == name else None
    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
        return small.value if small.target.value == name else None
    return None


def _rebinding(plan: Plan, scope: Scope, stmt: cst.BaseStatement, name: str) -> str | None:
    """Another binding of the model's name in its scope that the conversion keeps."""
    root = scope.function.body if scope.function is not None else scope.module
    found: list[str] = []

    class _Lines(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            return False

        def visit_ClassDef(self, node):
            return False

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine):
            if node is not stmt and not plan.is_removed(node) and name in usage_of(node).stores:
                found.append(code_of(node).strip())

        def visit_For(self, node: cst.For):
            if name in usage_of(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(node.target)], cst.Name("_"))])).stores:
                found.append(f"for {code_of(node.target)} in ...")

    root.visit(_Lines())
    if scope.function is not None and name in param_names(scope.function.params):
        found.append(f"a parameter of {scope.function.name.value}()")
    return found[0] if found else None


def _model_edit(stmt: cst.BaseStatement, name: str):
    """``model.fc = <value>`` (an attribute chain of the model, or an item by a literal index):
    (target, value), else (None, None)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign)):
        return None, None
    assign = stmt.body[0]
    if len(assign.targets) != 1:
        return None, None
    target = node = assign.targets[0].target
    if not isinstance(target, (cst.Attribute, cst.Subscript)):
        return None, None
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        if isinstance(node, cst.Subscript) and not (
            len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) and isinstance(node.slice[0].slice.value, cst.Integer)
        ):
            return None, None
        node = node.value
    if not (isinstance(node, cst.Name) and node.value == name):
        return None, None
    return target, assign.value


def _changed_after(statements, name: str) -> str | None:
    """``model.fc = ...`` (an attribute or item of the model assigned or deleted)."""
    found: list[str] = []

    def _rooted(target: cst.BaseExpression) -> bool:
        while isinstance(target, (cst.Attribute, cst.Subscript)):
            target = target.value
        return isinstance(target, cst.Name) and target.value == name

    class _Targets(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign):
            if any(_rooted(t.target) and not isinstance(t.target, cst.Name) for t in node.targets):
                found.append(code_of(node))

        def visit_AugAssign(self, node: cst.AugAssign):
            if _rooted(node.target) and not isinstance(node.target, cst.Name):
                found.append(code_of(node))

        def visit_AnnAssign(self, node: cst.AnnAssign):
            if _rooted(node.target) and not isinstance(node.target, cst.Name):
                found.append(code_of(node))

        def visit_Del(self, node: cst.Del):
            if _rooted(node.target):
                found.append(code_of(node))

    for stmt in statements:
        stmt.visit(_Targets())
    return found[0].strip() if found else None


def _parameters(scope: Scope, node: cst.BaseExpression, shared: dict[str, str], taken: set[str],
                parameters: dict[str, str], by_code: dict[str, str]) -> str | None:
    """Collect the parameters of the model's construction; the reason it cannot be built, or None."""
    if isinstance(node, cst.Call):
        callee = dotted_name(node.func)
        if callee is None or not scope.is_module_definition(callee.split(".")[0]):
            return f"the model is built from ``{code_of(node)}``, which is not a hyperparameter (a literal, a constant or an argparse value)"
        for arg in node.args:
            if arg.star:
                return f"``{code_of(node)}`` unpacks its arguments"
            problem = _parameters(scope, arg.value, shared, taken, parameters, by_code)
            if problem is not None:
                return problem
        return None
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
        return None
    if isinstance(node, cst.SimpleString):  # a string over lines would change when re-indented
        return None if "\n" not in node.value else f"``{code_of(node)[:20]}...`` spans lines"
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return None
    if isinstance(node, (cst.Name, cst.Attribute)) and scope.is_module_definition((dotted_name(node) or ".").split(".")[0]):
        return None  # a class of the script, ``torch.float32``, ``nn.ReLU`` as a value
    if isinstance(node, (cst.Name, cst.Attribute)):
        if not scope.is_constant(node):
            return f"the model is built from ``{code_of(node)}``, which is not a hyperparameter (a literal, a constant or an argparse value)"
        code = code_of(node)
        if code not in by_code:
            name = node.value if isinstance(node, cst.Name) else node.attr.value
            if isinstance(node, cst.Name) and name in shared:
                by_code[code] = name  # the hooks read it too: one parameter
            else:
                by_code[code] = fresh_name(name, taken)
                parameters[by_code[code]] = code
        return None
    if isinstance(node, cst.UnaryOperation):
        return _parameters(scope, node.expression, shared, taken, parameters, by_code)
    if isinstance(node, cst.BinaryOperation):
        return (_parameters(scope, node.left, shared, taken, parameters, by_code)
                or _parameters(scope, node.right, shared, taken, parameters, by_code))
    if isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            if isinstance(element, cst.StarredElement):
                return f"``{code_of(node)}`` unpacks its elements"
            problem = _parameters(scope, element.value, shared, taken, parameters, by_code)
            if problem is not None:
                return problem
        return None
    if isinstance(node, cst.ConcatenatedString):
        return _parameters(scope, node.left, shared, taken, parameters, by_code) or _parameters(scope, node.right, shared, taken, parameters, by_code)
    return f"the model is built from ``{code_of(node)}``, which is not a hyperparameter (a literal, a constant or an argparse value)"


class _AttributesToNames(cst.CSTTransformer):
    """``args.hidden`` → ``hidden`` (the parameter that carries it)."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        param = self.mapping.get(code_of(original))
        return cst.Name(param) if param is not None else updated


def _bound_late(scope: Scope, body: list, start: int, end: int, names: list[str]) -> list[str]:
    """Names the construction must pass that are unbound at the model's statement, or bound
    again between it and the loop (the hooks would see another value)."""
    before = set(param_names(scope.function.params)) if scope.function is not None else set()
    for stmt in body[:start]:
        before |= usage_of(stmt).stores
    between = set()
    for stmt in body[start + 1 : end]:
        if not scope.plan.is_removed(stmt):
            between |= usage_of(stmt).stores
    return [name for name in names if name not in before or name in between]
