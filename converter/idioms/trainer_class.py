"""A trainer class of the script's own (``Trainer`` with ``train(max_epochs)``, ``_run_epoch``,
``_run_batch``, ``_save_checkpoint``) → unrolled into the training it runs, then converted."""

from __future__ import annotations

from ..idiom import Example, Idiom
from ..plan import Plan
from ..script import Script
from ..trainer_class import Inlined, inline_trainer_class


class TrainerClass(Idiom):
    """A training loop written as methods of the script's own class: ``backward()`` is only
    called in a method, the class is constructed once (``trainer = Trainer(model, loader,
    optimizer, gpu_id, save_every)``) and its methods are called on that instance
    (``trainer.train(max_epochs)``) — the shape of PyTorch's DDP tutorial series and of many
    research codebases.

    ## Becomes

    Before the analysis the class is unrolled into the plain script the other idioms read: the
    construction becomes the constructor's statements (its parameters bound to the call's
    arguments), each ``trainer.method(...)`` call the method's statements, and a method calling
    ``self.other(...)`` gets ``other``'s statements in place of the call, the way a train
    function is inlined (a final ``return value`` stands in for the call; a clashing local is
    renamed, ``loss`` → ``loss_2``). ``self.<x>`` state becomes the plain variable ``x``
    (``trainer_x`` where the script already has an ``x`` that is not the very object the
    constructor stores). So the per-batch method's statements land in ``training_step``, the
    epoch method's others in the epoch hooks, ``train(max_epochs)`` becomes ``Trainer.fit``
    with ``max_epochs``, an evaluation method called after training becomes ``test_step``,
    and the class's own checkpoint method stays where ``train()`` ran it (under its guard, in
    ``on_train_epoch_end``) with a review note. The class definition goes. Every change and
    refusal names the user's original line.

    ## Refuses

    What cannot be unrolled exactly, with the line and the construct: a class constructed more
    than once or used other than as ``trainer = Trainer(...)`` (a subclass, an annotation),
    the instance passed, returned or reassigned, a method calling itself (recursion), a method
    called in a loop or ``if`` header or a conditional expression, ``self`` used as a value,
    ``return`` before a method's end, a method reassigning its parameter, a generator, a nested
    ``def``, ``super()`` outside ``__init__``, decorators other than ``@torch.no_grad()``-like,
    class-level attributes, ``self.<x>`` read but never set, ``backward()`` only in a method that
    none of the script's calls reaches (nothing trains: no loop to convert). A class inheriting from anything
    (an ``nn.Module`` calling ``backward()`` itself) is left to the analysis, which refuses it.

    ## Why

    The unrolled script runs the same statements in the same order on the same objects as the
    methods did (only names change), so the usual conversion applies unchanged; anything the
    unrolling could not keep exact would be a silent change to the training.
    """

    name = "trainer-class"
    title = "a Trainer class of the script's own (train(), _run_epoch(), _run_batch()) → unrolled into the LightningModule's hooks"
    fixtures = ("custom_trainer_class", "ddp_trainer_class")
    examples = (
        Example(
            """
            class Trainer:
                def __init__(self, model, loader, optimizer):
                    self.model = model
                    self.loader = loader
                    self.optimizer = optimizer

                def _run_batch(self, x, y):
                    self.optimizer.zero_grad()
                    loss = F.cross_entropy(self.model(x), y)
                    loss.backward()
                    self.optimizer.step()

                def _run_epoch(self, epoch):
                    for x, y in self.loader:
                        self._run_batch(x, y)

                def train(self, max_epochs):
                    for epoch in range(max_epochs):
                        self._run_epoch(epoch)


            trainer = Trainer(model, loader, optimizer)
            trainer.train(3)
            """,
            after=("def training_step(self, batch, batch_idx):", "loss = F.cross_entropy(self.model(x), y)", "max_epochs=3"),
            absent=("class Trainer", "self._run_batch", "self.loader"),
        ),
        Example(
            """
            class Trainer:
                def __init__(self, model, optimizer, save_every):
                    self.model = model
                    self.optimizer = optimizer
                    self.save_every = save_every
                    self.steps = 0

                def _run_batch(self, x, y):
                    self.optimizer.zero_grad()
                    loss = F.cross_entropy(self.model(x), y)
                    loss.backward()
                    self.optimizer.step()
                    self.steps += 1
                    return loss.item()

                def _save_checkpoint(self, epoch):
                    torch.save(self.model.state_dict(), f"epoch{epoch}.pt")

                def train(self, max_epochs):
                    for epoch in range(max_epochs):
                        total = 0.0
                        for x, y in loader:
                            total += self._run_batch(x, y)
                        print(epoch, total, self.steps)
                        if epoch % self.save_every == 0:
                            self._save_checkpoint(epoch)


            trainer = Trainer(model, optimizer, 2)
            trainer.train(4)
            """,
            after=("self.total += loss.item()", 'torch.save(self.model.state_dict(), f"epoch{self.current_epoch}.pt")', "if self.current_epoch % save_every == 0:"),
            absent=("class Trainer",),
            note="Trainer._save_checkpoint() saves the script's own checkpoint",
        ),
        Example(
            """
            class Trainer:
                def __init__(self, model, optimizer):
                    self.model = model
                    self.optimizer = optimizer

                def fit(self, batches, depth):
                    for x, y in batches:
                        self.optimizer.zero_grad()
                        F.cross_entropy(self.model(x), y).backward()
                        self.optimizer.step()
                    if depth:
                        self.fit(batches, depth - 1)


            Trainer(model, optimizer).fit(loader, 2)
            """,
            refused="instance is not assigned to a plain name",
        ),
        Example(
            """
            class Trainer:
                def __init__(self, model, optimizer):
                    self.model = model
                    self.optimizer = optimizer

                def fit(self, batches, depth):
                    for x, y in batches:
                        self.optimizer.zero_grad()
                        F.cross_entropy(self.model(x), y).backward()
                        self.optimizer.step()
                    if depth:
                        self.fit(batches, depth - 1)


            trainer = Trainer(model, optimizer)
            trainer.fit(loader, 2)
            """,
            refused="Trainer.fit() calls itself (recursion",
        ),
        Example(
            """
            class Trainer:
                def __init__(self, model, optimizer):
                    self.model = model
                    self.optimizer = optimizer

                def fit(self, batches):
                    for x, y in batches:
                        self.optimizer.zero_grad()
                        F.cross_entropy(self.model(x), y).backward()
                        self.optimizer.step()


            def run(trainer):
                trainer.fit(loader)


            trainer = Trainer(model, optimizer)
            run(trainer)
            """,
            refused="is used as a value (passed, returned or reassigned)",
        ),
    )
    order = 10

    def __init__(self) -> None:
        self.inlined: Inlined | None = None

    def unroll(self, script: Script) -> Script:
        self.inlined = inline_trainer_class(script)
        return self.inlined.script if self.inlined is not None else script

    def contribute(self, plan: Plan) -> None:
        found = self.inlined
        if found is None:
            return
        methods = ", ".join(f"{name}()" for name in found.methods)
        plan.change(
            found.class_span,
            f"the trainer class {found.class_name} is unrolled into the training it runs ({methods} inlined where they are "
            "called, self.<x> state as plain variables); the LightningModule is made from that",
        )
        for first, last, what in found.sites:
            plan.change((first, last), what)
        for note in found.notes:
            plan.note(note.line, note.message)
