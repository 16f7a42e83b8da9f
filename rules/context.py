"""What rules know about the file being linted, kept current during the one traversal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..api_knowledge import ImportTable, dotted_name

if TYPE_CHECKING:
    from .config import LintConfig
    from .rule import RawFinding

#: class kinds, from the canonical name of a base class
_BASE_KINDS = {
    "pl.LightningModule": "module",
    "pl.LightningDataModule": "datamodule",
    "pl.Callback": "callback",
}
#: methods that make an unresolved class look like a LightningModule
_MODULE_MARKERS = {"training_step", "configure_optimizers"}


class ClassInfo:
    """A class definition and what kind of Lightning class it is (or None)."""

    # plain classes, not dataclasses: cheaper to define on every lint's start-up (see .rule)
    __slots__ = ("node", "name", "kind", "methods", "automatic_optimization")

    def __init__(self, node: Any, name: str, kind: str | None, methods: dict[str, Any] | None = None) -> None:
        self.node = node
        self.name = name
        self.kind = kind
        self.methods: dict[str, Any] = {} if methods is None else methods
        self.automatic_optimization = True

    @property
    def is_module(self) -> bool:
        return self.kind == "module"


class FunctionInfo:
    """A function definition, and the class it is a method of, if any."""

    __slots__ = ("node", "name", "cls")

    def __init__(self, node: Any, name: str, cls: ClassInfo | None) -> None:
        self.node = node
        self.name = name
        self.cls = cls


class FileContext:
    """Shared state of one lint run over one file."""

    def __init__(self, module: Any, source: str, path: str | None, config: "LintConfig") -> None:
        self.module = module
        self.source = source
        self.path = path
        self.config = config
        self.imports = ImportTable()
        self.class_stack: list[ClassInfo] = []
        self.function_stack: list[FunctionInfo] = []
        self.classes: dict[str, ClassInfo] = {}
        self.trainer_names: set[str] = set()
        self.raw_findings: list[RawFinding] = []

    # -- names --------------------------------------------------------------------------------
    def qualname(self, node: Any) -> str | None:
        """Canonical qualified name of a Name/Attribute expression (see :mod:`pl_convert.api_knowledge`)."""
        return self.imports.resolve(node)

    def call_name(self, call: Any) -> str | None:
        return self.imports.resolve(call.func)

    def is_trainer_call(self, call: Any) -> bool:
        return self.call_name(call) == "pl.Trainer"

    def is_trainer_expr(self, node: Any) -> bool:
        """``trainer`` (a name bound to ``Trainer(...)`` or called so), ``self.trainer``, ..."""
        import libcst as cst

        if isinstance(node, cst.Call):
            return self.is_trainer_call(node)
        dotted = dotted_name(node)
        if dotted is None:
            return False
        last = dotted.rsplit(".", 1)[-1]
        return dotted in self.trainer_names or last == "trainer" or last.endswith("_trainer")

    # -- where are we -------------------------------------------------------------------------
    @property
    def current_class(self) -> ClassInfo | None:
        return self.class_stack[-1] if self.class_stack else None

    @property
    def method(self) -> FunctionInfo | None:
        """The innermost enclosing method (a function defined directly in a class)."""
        for info in reversed(self.function_stack):
            if info.cls is not None:
                return info
        return None

    def lightning_method(self, kind: str = "module") -> FunctionInfo | None:
        """The enclosing method if its class is a Lightning class of ``kind``."""
        method = self.method
        if method is not None and method.cls is not None and method.cls.kind == kind:
            return method
        return None

    @property
    def in_lightning_class(self) -> bool:
        method = self.method
        return method is not None and method.cls is not None and method.cls.kind is not None

    # -- bookkeeping (called by the engine) ---------------------------------------------------
    def enter_class(self, node: Any) -> None:
        import libcst as cst

        kind = None
        for base in node.bases:
            qn = self.qualname(base.value)
            if qn in _BASE_KINDS:
                kind = _BASE_KINDS[qn]
            elif qn is not None and qn.startswith("pl.callbacks."):
                kind = "callback"
            elif isinstance(base.value, cst.Name) and base.value.value in self.classes:
                kind = self.classes[base.value.value].kind
            if kind:
                break
        methods = {
            stmt.name.value: stmt for stmt in node.body.body if isinstance(stmt, cst.FunctionDef)
        } if isinstance(node.body, cst.IndentedBlock) else {}
        if kind is None and node.bases and _MODULE_MARKERS & methods.keys():
            kind = "module"
        info = ClassInfo(node, node.name.value, kind, methods)
        if kind == "module":
            info.automatic_optimization = not _disables_automatic_optimization(node, methods)
        self.classes[info.name] = info
        self.class_stack.append(info)

    def leave_class(self) -> None:
        self.class_stack.pop()

    def enter_function(self, node: Any) -> None:
        cls = None
        if self.class_stack:
            parent = self.class_stack[-1]
            if parent.methods.get(node.name.value) is node:
                cls = parent
        self.function_stack.append(FunctionInfo(node, node.name.value, cls))

    def leave_function(self) -> None:
        self.function_stack.pop()

    def note_assign(self, node: Any) -> None:
        """Remember names bound to a ``Trainer(...)`` call."""
        import libcst as cst

        if isinstance(node.value, cst.Call) and self.is_trainer_call(node.value):
            for target in node.targets:
                dotted = dotted_name(target.target)
                if dotted is not None:
                    self.trainer_names.add(dotted)


def _disables_automatic_optimization(node: Any, methods: dict[str, Any]) -> bool:
    """``self.automatic_optimization = False`` in ``__init__``, a class attribute, or a
    property returning False."""
    import libcst as cst

    def is_false(value: Any) -> bool:
        return isinstance(value, cst.Name) and value.value == "False"

    for stmt in node.body.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and is_false(small.value):
                    if any(dotted_name(t.target) == "automatic_optimization" for t in small.targets):
                        return True
    init = methods.get("__init__")
    if init is not None:
        for stmt in init.body.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Assign, cst.AnnAssign)) and is_false(small.value):
                        targets = small.targets if isinstance(small, cst.Assign) else [small]
                        if any(dotted_name(t.target) == "self.automatic_optimization" for t in targets):
                            return True
    prop = methods.get("automatic_optimization")
    if prop is not None:
        for stmt in prop.body.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Return) and is_false(small.value):
                        return True
    return False
