"""The paper's MLP tables at scale on Fashion-MNIST (issue 17, items 3–5). Long: run them when there is time.

    python benchmarks/mlp_fmnist_tables.py table8    [--seeds 0 1 2 3 4] [--hidden 200 200]
        SiLU/ReLU/Tanh/Tanhshrink x Kaiming/Xavier/uniform: NEAR before training, test loss/accuracy after
    python benchmarks/mlp_fmnist_tables.py table6    [--seeds 0 1 2 3 4]
        the sized MLP (near.estimate_layer_sizes) and the paper's variations of each layer (x0.5, x2), trained
    python benchmarks/mlp_fmnist_tables.py table11   --grid benchmarks/results/table8_fmnist.json
        every applicable proxy on the Table 8 grid; Kendall tau / Spearman rho against mean test accuracy
    python benchmarks/mlp_fmnist_tables.py stability [--networks 50] [--epochs-at 0 1 3 5 10]
        every proxy after 0, 1, 3, 5, 10 epochs of training vs the final accuracy, on random MLPs
    python benchmarks/mlp_fmnist_tables.py render --table table8 [--out JSON] [--plot PNG]
        the Markdown table of a finished table8 or table6 run; the figure of table6 or stability

Protocol (all): the full 60,000 training images (5,000 of them held out for early stopping), the official
10,000 test images; Adam (lr 1e-3, batch 128), at most --epochs epochs, patience 5; one torch thread; every
network and training run reproducible from its seed. Results: JSON under benchmarks/results/ and markdown
on stdout. Costs measured on the 2-core shared machine (one thread, under load): an epoch of a 784-200-200-10
MLP takes about 10–20 s, so table8 (12 cells x 5 seeds x ~20 epochs) is about 4–6 h, stability
(50 networks x 10 epochs + final training) about 3–5 h; on an idle 16-core machine with one run per core,
about 16x less.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlp_sizing import RESULTS, fmnist, sized_variants  # noqa: E402  (the same data loading as the sizing benchmark)

from near.mlp.build import build_mlp, resolve_activation, resolve_init  # noqa: E402

ACTIVATIONS = ("silu", "relu", "tanh", "tanhshrink")
INITS = ("kaiming_uniform", "xavier_uniform", "uniform")
# what makes each proxy applicable to an MLP (near.proxies says so when it is not): MeCo correlates units over
# samples (an MLP has no spatial positions), ZiCo needs two batches; NEAR scores the weights as they are
PROXY_OPTIONS = {
    "meco": {"correlate": "samples", "batch_size": 64},
    "meco_opt": {"correlate": "samples", "batch_size": 64},
    "zico": {"split": 2},
    "near": {"reinit": False},
}
PAPER_TABLE11 = {"near": (0.84, 0.70), "meco_opt": (0.67, 0.45)}  # (Spearman rho, Kendall tau); others <= 0.53


LIMIT: int | None = None  # --train-samples, for a quick smoke run only


def tensors():
    x, y, xt, yt = fmnist()
    x, y = x[:LIMIT], y[:LIMIT]
    return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(xt), torch.from_numpy(yt)


def make(hidden, activation: str, init: str, seed: int | None) -> nn.Module:
    """The MLP, initialised from ``seed`` (``None``: from torch's current state, as NEAR's repetitions need)."""
    _, act = resolve_activation(activation)
    _, init_fn = resolve_init(init)
    if seed is not None:
        torch.manual_seed(seed)
    model = build_mlp(784, tuple(hidden), 10, act)
    init_fn(model)
    return model


def train(
    model, x, y, xt, yt, seed: int, epochs: int, patience: int = 5, stop_at: int | None = None,
    min_epochs: int = 0, on_epoch=None,
) -> dict:
    """Adam with early stopping on a fixed validation split.

    ``stop_at`` ends after that many epochs; patience counts only after ``min_epochs``; ``on_epoch(epoch, model)``
    is called after every epoch (the stability study scores the proxies there).
    """
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(12345))
    held_out = min(5000, len(x) // 6)
    val, tr = order[:held_out], order[held_out:]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    best, state, waited, ran = math.inf, None, 0, 0
    for ran in range(1, (stop_at or epochs) + 1):  # noqa: B007  (the count is reported)
        model.train()
        for batch in tr[torch.randperm(len(tr), generator=gen)].split(128):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[batch]), y[batch]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            v = float(loss_fn(model(x[val]), y[val]))
        if on_epoch is not None:
            on_epoch(ran, model)
        if v < best:
            best, waited, state = v, 0, {k: t.clone() for k, t in model.state_dict().items()}
        elif (waited := waited + 1) >= patience and stop_at is None and ran >= min_epochs:
            break
    if stop_at is None and state is not None:
        model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        out = model(xt)
        return {
            "test_loss": float(loss_fn(out, yt)),
            "test_accuracy": float((out.argmax(1) == yt).float().mean()),
            "epochs": ran,
        }


def near_score(model_factory, x, repetitions: int = 8) -> tuple[float, float]:
    import near

    result = near.score(model_factory, x, repetitions=repetitions, seed=0)
    return float(np.mean(result.scores)), float(np.std(result.scores, ddof=1))


def table8(args) -> dict:
    """NEAR of every (activation, init) cell before training, then the cell trained with every seed.

    NEAR's repetitions each draw fresh weights (the factory does not seed; ``near.score`` seeds each
    repetition), as the paper's mean ± std over repetitions does. ``--near-only`` re-scores NEAR in an existing
    result without training again.
    """
    x, y, xt, yt = tensors()
    if args.near_only:
        data = json.loads((args.out or RESULTS / "table8_fmnist.json").read_text())
        for row in data["rows"]:
            factory = lambda a=row["activation"], i=row["init"]: make(data["hidden"], a, i, None)  # noqa: E731
            row["near"], row["near_std"] = near_score(factory, x[:5000])
            print(row["activation"], row["init"], f"{row['near']:.1f} ± {row['near_std']:.1f}", flush=True)
        return data
    rows = []
    for activation, init in itertools.product(ACTIVATIONS, INITS):
        mean, std = near_score(lambda a=activation, i=init: make(args.hidden, a, i, None), x[:5000])
        runs = [train(make(args.hidden, activation, init, s), x, y, xt, yt, s, args.epochs) for s in args.seeds]
        row = {"activation": activation, "init": init, "near": mean, "near_std": std, "runs": runs}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return {"hidden": args.hidden, "seeds": args.seeds, "rows": rows}


def table6(args) -> dict:
    """Size a 2-hidden-layer SiLU MLP by each rule, then train the estimates and the paper's variations.

    The variations are taken around the default (``auto``) estimate: one layer at a time x0.5 and x2, as the
    paper varies each layer, and both layers x0.25 and x4 to see the ends of the curve. Networks already
    trained in ``--out`` are kept, not trained again (a stopped run resumes; a new rule adds its estimate).
    """
    x, y, xt, yt = tensors()
    sizings, variants = sized_variants(x, 2, 10)
    out = args.out or RESULTS / "table6_fmnist.json"
    done = {tuple(r["hidden"]): r for r in json.loads(out.read_text())["rows"]} if out.is_file() else {}
    rows = []
    for hidden, label in variants:
        row = done.get(hidden)
        if row is None:
            runs = [train(make(hidden, "silu", "kaiming_uniform", s), x, y, xt, yt, s, args.epochs) for s in args.seeds]
            params = sum(p.numel() for p in make(hidden, "silu", "kaiming_uniform", 0).parameters())
            row = {"hidden": list(hidden), "parameters": params, "runs": runs}
        rows.append({**row, "label": label})
        print(json.dumps(rows[-1]), flush=True)
    return {"sizing": {rule: result.to_dict() for rule, result in sizings.items()}, "rows": rows}


def table11(args) -> dict:
    import near.proxies
    from near.metrics import kendall, spearman

    grid = json.loads(Path(args.grid).read_text())
    x, y, *_ = tensors()
    batch = (x[:512], y[:512])  # NEAR-like proxies need at least as many samples as the widest layer
    scores: dict[str, list[float]] = {}
    accuracy = []
    for row in grid["rows"]:
        model = make(grid["hidden"], row["activation"], row["init"], 0)
        names = [n for n in near.proxies.available() if n != "near"]
        options = {name: value for name, value in PROXY_OPTIONS.items() if name in names}
        values = near.proxies.compute_many(names, model, *batch, seed=0, on_error="nan", options=options)
        values["near"] = row["near"]  # the zoo's near re-draws PyTorch's default init; table8 scored each init
        for name, value in values.items():
            scores.setdefault(name, []).append(float(value))
        accuracy.append(float(np.mean([r["test_accuracy"] for r in row["runs"]])))
    out = {}
    print("| proxy | Spearman ρ | Kendall τ | paper (ρ, τ) |\n|---|---|---|---|")
    for name, values in sorted(scores.items()):
        values = np.asarray(values, dtype=float)
        scored = int(np.isfinite(values).sum())
        paper = PAPER_TABLE11.get(name, "—")
        if scored < len(values) or np.ptp(values) == 0:  # not applicable to every cell, or the same for all
            why = f"scores {scored} of {len(values)} cells" if scored < len(values) else "the same for every cell"
            out[name] = {"kendall": None, "spearman": None, "why": why}
            print(f"| {name} | — | — | {paper} | ({why})")
            continue
        out[name] = {"kendall": kendall(values, accuracy), "spearman": spearman(values, accuracy)}
        print(f"| {name} | {out[name]['spearman']:+.2f} | {out[name]['kendall']:+.2f} | {paper} |")
    return {"correlations": out, "accuracy": accuracy}


def stability(args) -> dict:
    """Every proxy on random MLPs before and after 1, 3, 5, 10 epochs, against their final test accuracy.

    One training run per network: the proxies score it in place at the listed epochs (early stopping waits
    until the last of them), and the final accuracy is that run's, restored to its best validation loss.
    """
    import near.proxies

    x, y, xt, yt = tensors()
    rng = np.random.default_rng(0)
    nets = []
    for i in range(args.networks):
        depth = int(rng.integers(1, 4))
        hidden = tuple(int(w) for w in rng.choice([16, 32, 64, 128, 256, 512], depth))
        nets.append((hidden, str(rng.choice(ACTIVATIONS)), i))
    table: dict[int, dict[str, list[float]]] = {e: {} for e in args.epochs_at}

    def score(epoch: int, model: nn.Module) -> None:
        if epoch not in table:
            return
        values = near.proxies.compute_many(
            near.proxies.available(), model, x[:512], y[:512], seed=0, on_error="nan", options=PROXY_OPTIONS
        )
        for name, value in values.items():
            table[epoch].setdefault(name, []).append(float(value))
        model.train()

    final = []
    for hidden, activation, seed in nets:
        model = make(hidden, activation, "kaiming_uniform", seed)
        score(0, model)
        final.append(train(model, x, y, xt, yt, seed, args.epochs, min_epochs=max(args.epochs_at), on_epoch=score))
        print(json.dumps({"hidden": hidden, "activation": activation, **final[-1]}), flush=True)
    accuracy = np.array([f["test_accuracy"] for f in final])
    rho = {e: {n: finite_spearman(v, accuracy) for n, v in table[e].items()} for e in args.epochs_at}
    print("| proxy | " + " | ".join(f"{e} epochs" for e in args.epochs_at) + " | networks scored |")
    for name in sorted(rho[args.epochs_at[0]]):
        cells = [rho[e][name]["spearman"] for e in args.epochs_at]
        shown = " | ".join("—" if c is None else f"{c:+.2f}" for c in cells)
        print(f"| {name} | {shown} | {min(rho[e][name]['n'] for e in args.epochs_at)} |")
    return {"networks": [list(n) for n in nets], "final": final, "scores": table, "spearman": rho}


def finite_spearman(values, accuracy) -> dict:
    """Spearman rho over the networks the proxy scored (NaN: not applicable, e.g. a ReLU-only proxy on tanh)."""
    from near.metrics import spearman

    values = np.asarray(values, dtype=float)
    keep = np.isfinite(values)
    n = int(keep.sum())
    return {"spearman": spearman(values[keep], accuracy[keep]) if n >= 10 else None, "n": n}


PAPER_TABLE8 = {  # balanced EMNIST, 784-200-200-47 (near-method.md): (test loss, NEAR)
    ("silu", "kaiming_uniform"): (0.367, 382.8), ("silu", "xavier_uniform"): (0.368, 417.7),
    ("relu", "kaiming_uniform"): (0.372, 403.7), ("relu", "xavier_uniform"): (0.374, 421.1),
    ("tanh", "kaiming_uniform"): (0.392, 398.2), ("tanh", "xavier_uniform"): (0.396, 415.5),
    ("tanhshrink", "kaiming_uniform"): (0.447, 278.4), ("tanhshrink", "xavier_uniform"): (0.449, 401.4),
    ("silu", "uniform"): (0.525, 13.3), ("tanhshrink", "uniform"): (0.602, 13.4),
    ("relu", "uniform"): (0.651, 13.3), ("tanh", "uniform"): (3.858, 9.0),
}  # fmt: skip


def spread(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}"


def render(args) -> None:
    """Markdown tables of a finished run's JSON (``--out`` or the default path of ``--table``)."""
    from near.metrics import kendall, spearman

    data = json.loads((args.out or RESULTS / f"{args.table}_fmnist.json").read_text())
    if args.table == "table8":
        rows = sorted(data["rows"], key=lambda r: np.mean([run["test_loss"] for run in r["runs"]]))
        order = sorted(range(len(rows)), key=lambda i: -rows[i]["near"])
        rank = {i: k + 1 for k, i in enumerate(order)}
        print("| σ, init | test loss | test accuracy | epochs | NEAR | NEAR rank | paper: test loss, NEAR |")
        print("|---|---|---|---|---|---|---|")
        for i, r in enumerate(rows):
            loss, acc = [run["test_loss"] for run in r["runs"]], [run["test_accuracy"] for run in r["runs"]]
            paper = PAPER_TABLE8[r["activation"], r["init"]]
            print(f"| {r['activation']}, {r['init']} | {spread(loss)} | {spread(acc)} | "
                  f"{np.mean([run['epochs'] for run in r['runs']]):.0f} | {r['near']:.1f} ± {r['near_std']:.1f} | "
                  f"{rank[i]} | {paper[0]}, {paper[1]} |")  # fmt: skip
        near = [r["near"] for r in rows]
        loss = [np.mean([run["test_loss"] for run in r["runs"]]) for r in rows]
        acc = [np.mean([run["test_accuracy"] for run in r["runs"]]) for r in rows]
        print(f"\nNEAR vs test loss: Spearman {spearman(near, loss):+.2f}, Kendall {kendall(near, loss):+.2f}; "
              f"vs test accuracy: Spearman {spearman(near, acc):+.2f}, Kendall {kendall(near, acc):+.2f}")  # fmt: skip
    elif args.table == "table6":
        for rule, sizing in data["sizing"].items():
            print(f"{rule}: {sizing['sizes']} — " + "; ".join(
                f"layer {e['layer']}: {e['rule']} rule, γ {e['gamma']:.3f}, half-gain {e['gain_size']:.0f}, "
                f"{e['confidence']}" for e in sizing["layers"]))  # fmt: skip
        print("\n| hidden widths | what | parameters | test loss | test accuracy | epochs |\n|---|---|---|---|---|---|")
        for r in data["rows"]:
            loss, acc = [run["test_loss"] for run in r["runs"]], [run["test_accuracy"] for run in r["runs"]]
            print(f"| {'-'.join(map(str, r['hidden']))} | {r['label']} | {r['parameters']:,} | {spread(loss)} | "
                  f"{spread(acc)} | {np.mean([run['epochs'] for run in r['runs']]):.0f} |")  # fmt: skip
        if args.plot:
            plot_table6(data, args.plot)
    elif args.table == "stability" and args.plot:
        plot_stability(data, args.plot)
    else:
        sys.exit(f"{args.table}: its run prints its own Markdown table (render --table stability needs --plot)")


def plot_table6(data: dict, path: Path) -> None:
    """Test loss against parameters of the Table 6 networks, the rules' estimates labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    for r in sorted(data["rows"], key=lambda r: r["parameters"]):
        loss = [run["test_loss"] for run in r["runs"]]
        rule = "rule" in r["label"]
        ax.errorbar(r["parameters"], np.mean(loss), yerr=np.std(loss, ddof=1), fmt="o" if rule else "s",
                    color="C3" if rule else "C0", capsize=3)  # fmt: skip
        name = "-".join(map(str, r["hidden"])) + (f" ({r['label']})" if rule else "")
        ax.annotate(name, (r["parameters"], np.mean(loss)), textcoords="offset points", fontsize=8,
                    xytext=(-4, -14) if rule else (6, 4), ha="right" if rule else "left")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xticks([1e4, 3e4, 1e5, 3e5, 1e6])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="parameters", ylabel="test loss (mean ± std, 5 seeds)", xlim=(8e3, 1e6),
           title="Fashion-MNIST, 2 hidden SiLU layers: the sizing rules' estimates (red) and variations")  # fmt: skip
    ax.title.set_fontsize(9)
    fig.savefig(path, dpi=120)


def plot_stability(data: dict, path: Path) -> None:
    """Each proxy's Spearman rho with final accuracy against the epochs trained before scoring."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = sorted(int(e) for e in data["spearman"])
    fig, ax = plt.subplots(figsize=(7.2, 4.2), layout="constrained")
    colours = plt.get_cmap("tab20").colors
    names = [n for n in sorted(data["spearman"][str(epochs[0])])
             if all(data["spearman"][str(e)][n]["spearman"] is not None for e in epochs)]  # fmt: skip
    for k, name in enumerate(names):
        rho = [data["spearman"][str(e)][name]["spearman"] for e in epochs]
        bold = name == "near"
        ax.plot(epochs, rho, marker="o", lw=3 if bold else 1.2, color="black" if bold else colours[k % 20],
                ls="-" if k % 2 == 0 else "--", label=name, zorder=3 if bold else 2)  # fmt: skip
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="epochs trained before scoring", ylabel="Spearman ρ with final test accuracy", xticks=epochs,
           title="50 MLPs on Fashion-MNIST: the proxies after minimal training")  # fmt: skip
    ax.title.set_fontsize(9)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("table8", "table6", "table11", "stability", "render"))
    parser.add_argument("--table", choices=("table8", "table6", "stability"), default="table8", help="render: which")
    parser.add_argument("--plot", type=Path, default=None, help="render: also draw table6 or stability to this PNG")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--hidden", type=int, nargs="+", default=[200, 200])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--grid", type=Path, default=RESULTS / "table8_fmnist.json")
    parser.add_argument("--networks", type=int, default=50)
    parser.add_argument("--epochs-at", type=int, nargs="+", default=[0, 1, 3, 5, 10])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--near-only", action="store_true", help="table8: re-score NEAR in --out's result only")
    parser.add_argument("--train-samples", type=int, default=None, help="smoke runs only: fewer training images")
    args = parser.parse_args()
    global LIMIT
    LIMIT = args.train_samples
    if args.what == "render":
        return render(args)
    torch.set_num_threads(1)
    start = time.perf_counter()
    result = {"table8": table8, "table6": table6, "table11": table11, "stability": stability}[args.what](args)
    result["seconds"] = time.perf_counter() - start
    out = args.out or RESULTS / f"{args.what}_fmnist.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
