"""``model = Net(hidden, args.dropout)`` → the LightningModule builds ``Net`` from hyperparameters
it records, so ``LitNet.load_from_checkpoint(path)`` needs no other argument."""

from __future__ import annotations

from ..idiom import Example, Idiom
from ..model_construction import build_model_in_module
from ..namespace_values import record_namespace_values
from ..plan import Plan


class Hyperparameters(Idiom):
    """The trained model, built once from values (literals, constants, argparse values).

    ## Becomes

    The LightningModule's ``__init__`` takes the values the model is built from (named after
    the script's names: ``args.dropout`` → ``dropout``; a size the script measured,
    ``num_classes = len(train_set.classes)``, is a value too), calls ``self.save_hyperparameters()``
    and builds ``self.model = Net(hidden, dropout)`` itself. The script's ``model = Net(hidden,
    args.dropout).to(device)`` becomes ``lit_model = LitNet(hidden, dropout=args.dropout)`` and
    ``model = lit_model.model`` at the same place, and the later ``lit_model = LitNet(model)``
    goes. Edits of the model right after it is built (``model.conv1 = nn.Conv2d(1, 64, 7)``,
    with only device moves between) move into ``__init__`` after the build, in their order.
    The argparse values the hooks read (``args.log_interval``) are hyperparameters too: the
    constructor takes ``log_interval``, the hooks read ``self.hparams.log_interval`` and the
    script passes ``log_interval=args.log_interval``. A loader the hooks read only for its size
    (``len(train_loader.dataset)``) is the Trainer's (``self.trainer.train_dataloader``; see
    converter/trainer_loaders.py). Other objects the hooks read (a criterion, a loader they
    iterate) stay constructor arguments, in ``save_hyperparameters(ignore=[...])``, and so does
    the namespace when a hook reads it whole (``train(args, ...)``) or the script could change
    it after parsing (``args.lr = ...``, ``vars(args)``, ``setup(args)``); the class docstring
    names what ``load_from_checkpoint`` then needs.

    ## Refuses

    Never. The model stays a constructor argument (the docstring says
    ``load_from_checkpoint(path, model=...)`` and why) when it is built from a runtime object
    (another module, a dataset), bound again (``model = nn.DataParallel(model)`` kept),
    changed later on (``model.fc = nn.Linear(...)`` after other statements), built by a callee that is not
    defined or imported at module level, built outside the function that trains it, when the
    script trains two models, or when an object the hooks read is bound only after the model.

    ## Why

    Lightning's contract: ``LitX.load_from_checkpoint(path)`` alone rebuilds the trained module
    from the hyperparameters in the checkpoint. The model is still built at the same point of
    the script (``LightningModule.__init__`` and ``save_hyperparameters`` draw no random
    numbers), so the training is unchanged, and the code after it uses the same object. The
    namespace and dataclass configs are not recorded because the weights-only ``torch.load``
    that ``load_from_checkpoint`` uses rejects them.
    """

    name = "hyperparameters"
    title = "model = Net(hidden, args.lr) → the LightningModule builds it from save_hyperparameters()"
    fixtures = ("feedforward_mnist", "function_style", "ddp_torchrun")
    examples = (
        Example(
            """
            hidden = 16
            net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 2))
            sgd = torch.optim.SGD(net.parameters(), lr=0.1)
            for epoch in range(2):
                for x, y in loader:
                    sgd.zero_grad()
                    loss = F.cross_entropy(net(x), y)
                    loss.backward()
                    sgd.step()
            """,
            after=(
                "def __init__(self, hidden):",
                "self.save_hyperparameters()",
                "self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 2))",
                "lit_net = LitSequential(hidden)",
                "net = lit_net.net",
                "trainer.fit(lit_net, train_dataloaders=loader)",
            ),
            absent=("LitSequential(net)",),
        ),
        Example(
            """
            encoder = nn.Linear(4, 8)
            net = nn.Sequential(encoder, nn.Linear(8, 2))
            sgd = torch.optim.SGD(net.parameters(), lr=0.1)
            for epoch in range(2):
                for x, y in loader:
                    sgd.zero_grad()
                    loss = F.cross_entropy(net(x), y)
                    loss.backward()
                    sgd.step()
            """,
            after=("lit_net = LitSequential(net)", "load_from_checkpoint(path, net=...)", "``encoder``, which is not a"),
            absent=("save_hyperparameters",),
        ),
        Example(
            """
            num_classes = len(loader.dataset.classes)
            net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, num_classes))
            sgd = torch.optim.SGD(net.parameters(), lr=0.1)
            for epoch in range(2):
                for x, y in loader:
                    sgd.zero_grad()
                    loss = F.cross_entropy(net(x), y)
                    loss.backward()
                    sgd.step()
            """,
            after=(
                "def __init__(self, num_classes):",
                "self.save_hyperparameters()",
                "lit_net = LitSequential(num_classes)",
            ),
            absent=("LitSequential(net)",),
        ),
        Example(
            """
            import argparse


            def main():
                parser = argparse.ArgumentParser()
                parser.add_argument("--hidden", type=int, default=16)
                parser.add_argument("--log-interval", type=int, default=2)
                args = parser.parse_args([])
                train_loader = DataLoader(TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,))), batch_size=16)
                net = nn.Sequential(nn.Linear(4, args.hidden), nn.ReLU(), nn.Linear(args.hidden, 2))
                sgd = torch.optim.SGD(net.parameters(), lr=0.1)
                for epoch in range(2):
                    for i, (x, y) in enumerate(train_loader):
                        sgd.zero_grad()
                        loss = F.cross_entropy(net(x), y)
                        loss.backward()
                        sgd.step()
                        if i % args.log_interval == 0:
                            print(f"{i}/{len(train_loader)}", loss.item())
            """,
            after=(
                "def __init__(self, hidden, log_interval):",
                "self.save_hyperparameters()",
                "if i % self.hparams.log_interval == 0:",
                'print(f"{i}/{len(self.trainer.train_dataloader)}", loss.item())',
                "lit_net = LitSequential(hidden=args.hidden, log_interval=args.log_interval)",
                "LitSequential.load_from_checkpoint(path)`` rebuilds",
            ),
            absent=("self.args", "self.train_loader"),
        ),
    )

    def construct(self, plan: Plan) -> None:
        build_model_in_module(plan)
        record_namespace_values(plan)
