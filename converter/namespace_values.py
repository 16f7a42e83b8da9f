"""The argparse values the hooks read become hyperparameters, when the module builds the model.

After :mod:`.model_construction`, the module that builds its model from hyperparameters still
took the argparse namespace as a constructor argument when its hooks read ``args.log_interval``
(``self.args.log_interval``), and ``load_from_checkpoint`` needed it again (the weights-only
``torch.load`` rejects a recorded namespace). When the hooks read nothing of it but such
attributes, the constructor takes those values instead, named after the attribute as the
model's own hyperparameters are (``args.log_interval`` → ``log_interval``; one parameter when the
model is built from the same attribute), ``save_hyperparameters()`` records them, the hooks read
``self.hparams.log_interval`` and the script constructs ``LitNet(..., log_interval=args.log_interval)``.

The values are read once, where the module is constructed, instead of whenever a hook runs; so
nothing may change the namespace after it is parsed. The namespace stays a constructor argument
(today's output) when a hook reads it whole (``vars(args)``, ``train(args, ...)`` kept,
``getattr(args, name)``), calls or assigns one of its attributes, or when the enclosing
function assigns or deletes an attribute of it (``args.lr *= 0.1``) or passes it anywhere but
to ``print`` (a callee could change it).
"""

from __future__ import annotations

import libcst as cst

from .model_construction import NAMESPACE, Scope
from .name_uses import NameUse, uses_of
from .names import fresh_name, usage_of
from .plan import Plan
from .transforms import apply
from .tree import code_of

#: attributes of ``self.hparams`` (a dict) that a value's name must not hide behind
_DICT_ATTRIBUTES = set(dir(dict))


def record_namespace_values(plan: Plan) -> None:
    """Replace the namespace argument by the values the hooks read (see the module docstring)."""
    built, lifted = plan.built_model, plan.lifted
    if built is None or lifted is None or not lifted.function:
        return
    scope = Scope(plan)
    for name, attribute in list(lifted.arguments.items()):
        if scope.kind(name) != NAMESPACE:
            continue
        fields = _fields_read(plan, attribute)
        if not fields or not _unchanged_after_parsing(plan, scope, name):
            continue
        parameters = _parameters(plan, name, fields)
        rewrite = _ToHparams(attribute, parameters)
        for hook in plan.hooks.values():
            hook.statements = apply(rewrite, hook.statements)
        plan.optimizer_setup = apply(rewrite, plan.optimizer_setup)
        del lifted.arguments[name]
        built.ignored = [n for n in built.ignored if n != name]


def _hook_statements(plan: Plan) -> list[cst.BaseStatement]:
    return [s for hook in plan.hooks.values() for s in hook.statements] + list(plan.optimizer_setup)


def _fields_read(plan: Plan, attribute: str) -> list[str] | None:
    """The fields of ``self.<attribute>`` the hooks read, in order; None when a hook uses it
    otherwise (whole, assigned, called)."""
    fields: list[str] = []
    for use in uses_of(_hook_statements(plan), "self"):
        holder = use.parent
        if not (isinstance(holder, cst.Attribute) and holder.value is use.node and holder.attr.value == attribute):
            continue
        field = use.grandparent
        if use.assigned or not (isinstance(field, cst.Attribute) and field.value is holder) or _called(use, 2):
            return None
        if field.attr.value not in fields:
            fields.append(field.attr.value)
    return fields


def _called(use: NameUse, depth: int) -> bool:
    """The expression ``depth`` levels above the name is the function of a call."""
    if len(use.ancestors) <= depth:
        return False
    call = use.ancestors[depth]
    return isinstance(call, cst.Call) and call.func is use.ancestors[depth - 1]


def _unchanged_after_parsing(plan: Plan, scope: Scope, name: str) -> bool:
    """The function reads the namespace only as ``name.<field>`` values (and ``print(name)``)
    outside the statements the conversion replaces, and never assigns to its attributes."""
    facts = plan.facts
    replaced = [facts.region] + ([plan.test.holder] if plan.test is not None else []) + [r.statement for r in plan.removals]
    for use in uses_of(list(scope.function.body.body), name):
        if any(a is r for a in use.ancestors for r in replaced):
            continue
        parent = use.parent
        if isinstance(parent, cst.AssignTarget) and isinstance(use.ancestors[1], cst.Assign) and scope.value_kind(use.ancestors[1].value) == NAMESPACE:
            continue  # ``args = parser.parse_args()``
        if use.assigned:
            return False
        if isinstance(parent, cst.Attribute) and parent.value is use.node:
            continue  # a value read (``args.seed``); a call of it reads a value too
        if isinstance(parent, cst.Arg) and not parent.star and isinstance(use.grandparent, cst.Call) and code_of(use.grandparent.func) == "print":
            continue
        return False
    return True


def _parameters(plan: Plan, name: str, fields: list[str]) -> dict[str, str]:
    """Field -> the constructor's parameter for ``name.<field>`` (the model's own when it is
    built from it), added to the module's hyperparameters."""
    built, lifted = plan.built_model, plan.lifted
    by_code = {code: param for param, code in built.parameters.items()}
    taken = {"self", "super", *built.parameters, *lifted.arguments, *lifted.state, *plan.facts.model_names, *_DICT_ATTRIBUTES}
    # a parameter must not hide a name the model's construction reads (``nn`` of ``nn.Linear``)
    taken |= usage_of(cst.parse_module("\n".join([built.call, *built.edits]) + "\n")).loads
    parameters = {}
    for field in fields:
        code = f"{name}.{field}"
        if code not in by_code:
            by_code[code] = fresh_name(field, taken)
            built.parameters[by_code[code]] = code
        parameters[field] = by_code[code]
    return parameters


class _ToHparams(cst.CSTTransformer):
    """``self.<attribute>.<field>`` → ``self.hparams.<parameter>``."""

    def __init__(self, attribute: str, parameters: dict[str, str]) -> None:
        self.attribute = attribute
        self.parameters = parameters

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        holder = original.value
        if (
            isinstance(holder, cst.Attribute) and holder.attr.value == self.attribute
            and isinstance(holder.value, cst.Name) and holder.value.value == "self"
            and original.attr.value in self.parameters
        ):
            return updated.with_changes(value=cst.parse_expression("self.hparams"), attr=cst.Name(self.parameters[original.attr.value]))
        return updated
