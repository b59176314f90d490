"""When does the paper's sizing rule say something, and where is the knee of test loss vs parameters?

    python benchmarks/mlp_sizing.py curves --data fmnist [--widths 8 … 2048] [--max-widths 512 1024 2048] [--reps 4]
        relative/absolute NEAR of one hidden layer vs width, the paper's fit (γ, s* per threshold), the
        marginal-gain estimate; per part (pre/post/both)
    python benchmarks/mlp_sizing.py train --data fmnist [--widths 8 16 … 1024] [--seeds 0] [--epochs 20]
        one-hidden-layer MLPs trained on the training split, tested on the held-out split: loss vs parameters
    python benchmarks/mlp_sizing.py layers --data emt --hidden-layers 3 [--seeds 0 1 2 3 4] [--epochs 150]
        sizes a multi-layer MLP by each rule, trains the estimates and the variations around the default
    python benchmarks/mlp_sizing.py report benchmarks/results/train_*.json
        markdown tables of the above (the knee: the narrowest width with 90 % / 95 % of the loss reduction)
    python benchmarks/mlp_sizing.py emt [--configs 600]
        builds the regression set (ASE EMT atomic energies + dscribe ACSF descriptors) into --cache

Data sets: ``fmnist`` = ../shared/data/fashion-mnist (60,000 training images, official 10,000 test images);
``emt`` = the EMT set made by ``emt`` (per-atom ACSF → per-atom EMT energy; test = the last 20 % of the
configurations, so no configuration is split between training and test). Results: JSON under --out
(default benchmarks/results/), a table on stdout. One torch thread; reproducible from the seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from near.formats.idx import read_idx

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEAR_SHARED_DATA", ROOT.parent / "shared" / "data"))
FMNIST = SHARED / "fashion-mnist"
CACHE = ROOT / "out"  # generated data (git-ignored)
RESULTS = ROOT / "benchmarks" / "results"


# ---------------------------------------------------------------- data


def fmnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training and official test split, features scaled to [0, 1] and flattened."""
    if not FMNIST.is_dir():
        sys.exit(f"{FMNIST} not found: set NEAR_SHARED_DATA to the folder holding fashion-mnist/")

    def part(prefix):
        x = read_idx(FMNIST / f"{prefix}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
        y = read_idx(FMNIST / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        return x, y

    return (*part("train"), *part("t10k"))


def emt_set(cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    path = cache / "emt_acsf.npz"
    if not path.is_file():
        sys.exit(f"{path} not found: run `python benchmarks/mlp_sizing.py emt` first")
    d = np.load(path)
    x, y, config = d["x"], d["y"], d["config"]
    test = config >= np.quantile(config, 0.8)
    mean, std = x[~test].mean(0), x[~test].std(0) + 1e-12  # standardise with training statistics only
    x = ((x - mean) / std).astype(np.float32)
    y = y.astype(np.float32)
    return x[~test], y[~test], x[test], y[test]


def mnist5k() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits of the shared data (the set of docs/mlp-design.md); no separate test split."""
    d = np.load(SHARED / "images" / "mnist_5k.npz")
    x = d["images"].reshape(len(d["images"]), -1).astype(np.float32) / 255
    return x[:4000], d["labels"][:4000], x[4000:], d["labels"][4000:]


def load(name: str, cache: Path):
    return {"fmnist": fmnist, "mnist5k": mnist5k}[name]() if name != "emt" else emt_set(cache)


def make_emt(configs: int, seed: int, cache: Path) -> Path:
    """Cu–Au fcc alloy cells (32 atoms), random composition, strain and rattling; per-atom EMT energies as
    targets; per-atom features: the atom's element (one-hot; Behler–Parrinello potentials use one network per
    element instead) and its ACSF (G2 radial + G4 angular, one block per neighbour element)."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from dscribe.descriptors import ACSF

    rng = np.random.default_rng(seed)
    acsf = ACSF(
        species=["Cu", "Au"],
        r_cut=6.0,
        periodic=True,  # the cells are periodic, as EMT computes them
        g2_params=[[eta, 0.0] for eta in (0.003, 0.03, 0.1, 0.3, 0.7, 1.5)],
        g4_params=[[eta, zeta, lam] for eta in (0.005, 0.05) for zeta in (1, 4) for lam in (-1, 1)],
    )
    xs, ys, cs = [], [], []
    for c in range(configs):
        gold = rng.random(32) < rng.uniform(0, 1)
        a = 3.61 + (4.08 - 3.61) * gold.mean()  # Vegard's law between Cu and Au, then a random strain
        atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat((2, 2, 2))
        atoms.symbols[gold] = "Au"
        atoms.set_cell(atoms.cell.array @ (np.eye(3) + rng.normal(0, 0.02, (3, 3))), scale_atoms=True)
        atoms.rattle(stdev=rng.uniform(0.02, 0.15), seed=int(rng.integers(2**31)))
        atoms.calc = EMT()
        ys.append(atoms.get_potential_energies())
        central = np.stack([~gold, gold], axis=1).astype(float)  # ACSF describe the neighbours, not the atom itself
        xs.append(np.concatenate([central, acsf.create(atoms)], axis=1))
        cs.append(np.full(len(atoms), c))
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / "emt_acsf.npz"
    np.savez_compressed(path, x=np.concatenate(xs), y=np.concatenate(ys), config=np.concatenate(cs))
    return path


# ---------------------------------------------------------------- curves: NEAR vs width, the fit, the estimates


def curves(args) -> dict:
    """Relative scores once at every candidate width, then the fits on each prefix ``widths ≤ top``."""
    from near.mlp.build import resolve_activation, resolve_init
    from near.mlp.gain import half_gain_width
    from near.mlp.powerlaw import fit_power_law, size_from_fit
    from near.mlp.sizing import layer_relative_scores

    x_train, *_ = load(args.data, args.cache)
    x = torch.from_numpy(x_train)
    _, act = resolve_activation(args.activation)
    _, init = resolve_init(None)
    widths = tuple(sorted(args.widths))
    out = {"data": args.data, "activation": args.activation, "repetitions": args.reps, "runs": []}
    for part in ("pre", "post", "both"):
        start = time.perf_counter()
        rel = layer_relative_scores(
            x, (), widths, activation=act, init=init, sliceable=True, part=part, repetitions=args.reps, seed=0
        )
        seconds = time.perf_counter() - start
        for top in args.samples:
            keep = [i for i, w in enumerate(widths) if w <= top]
            w, mean = [widths[i] for i in keep], rel[:, keep].mean(0)
            fit = fit_power_law(w, mean)
            absolute = mean * np.array(w)
            gain = half_gain_width(w, absolute)
            row = {
                "max_width": top,
                "part": part,
                "widths": w,
                "relative": mean.round(5).tolist(),
                "absolute": absolute.round(3).tolist(),
                "gamma": fit.gamma,
                "alpha": fit.alpha,
                "beta": fit.beta,
                "nrmse": fit.nrmse,
                "paper_size": {str(t): size_from_fit(fit.gamma, t) for t in args.thresholds},
                "half_gain": gain.size,
                "half_gain_status": gain.status,
                "gains": [round(float(g), 4) for g in gain.gains],
                "seconds": seconds,
            }
            out["runs"].append(row)
            print(
                f"{args.data} widths ≤{top:>5} part {part:<4}: γ = {fit.gamma:+.4f} (NRMSE {fit.nrmse:.3f}), "
                + ", ".join(f"s*(t={t}) = {s:.0f}" for t, s in row["paper_size"].items())
                + f"; half-gain {gain.size:.0f} ({gain.status}); absolute {row['absolute']}; gains {row['gains']}",
                flush=True,
            )
    return out


# ---------------------------------------------------------------- train: loss vs parameters


def _train_one(x, y, xt, yt, width, seed, epochs, patience, regression) -> dict:
    """One SiLU MLP trained; ``width`` is one hidden layer's width or a list of them."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n_val = len(x) // 12
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(12345))
    val, tr = order[:n_val], order[n_val:]
    outputs = 1 if regression else int(y.max()) + 1
    sizes = [x.shape[1], *([width] if isinstance(width, int) else width)]
    hidden = [m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.SiLU())]
    model = nn.Sequential(*hidden, nn.Linear(sizes[-1], outputs))
    loss_fn = nn.MSELoss() if regression else nn.CrossEntropyLoss()
    target = (lambda t: t.view(-1, 1)) if regression else (lambda t: t)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    best, best_state, best_epoch, waited = math.inf, None, 0, 0
    for epoch in range(1, epochs + 1):
        model.train()
        for batch in tr[torch.randperm(len(tr), generator=gen)].split(128):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[batch]), target(y[batch])).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            v = float(loss_fn(model(x[val]), target(y[val])))
        if v < best:
            best, best_epoch, waited = v, epoch, 0
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        out = model(xt)
        loss = float(loss_fn(out, target(yt)))
        acc = None if regression else float((out.argmax(1) == yt).float().mean())
    params = sum(p.numel() for p in model.parameters())
    return {
        "width": width,
        "seed": seed,
        "parameters": params,
        "test_loss": loss,
        "test_accuracy": acc,
        "best_epoch": best_epoch,
        "epochs_run": epoch,
    }


def train(args) -> dict:
    x, y, xt, yt = (torch.from_numpy(a) for a in load(args.data, args.cache))
    regression = y.is_floating_point()
    rows = []
    for seed in args.seeds:
        for width in args.widths:
            start = time.perf_counter()
            row = _train_one(x, y, xt, yt, width, seed, args.epochs, args.patience, regression)
            row["seconds"] = time.perf_counter() - start
            rows.append(row)
            print(json.dumps(row), flush=True)
    return {"data": args.data, "epochs": args.epochs, "patience": args.patience, "runs": rows}


def sized_variants(x: torch.Tensor, hidden_layers: int, outputs: int) -> tuple[dict, list[tuple[tuple, str]]]:
    """Each rule's sizing of an MLP on ``x[:5000]``, and the networks to train, narrowest first: the rules'
    estimates, each layer of the default (``auto``) estimate x0.5 and x2 (the paper's variations), and every
    layer x0.25 and x4 (the ends of the curve). Each network comes with what it is, e.g. "layer 2 x0.5"."""
    import itertools

    import near

    sizings = {
        rule: near.estimate_layer_sizes(x[:5000], hidden_layers, outputs=outputs, seed=0, warn=False, rule=rule)
        for rule in ("paper", "auto", "gain")
    }
    variants: dict[tuple, list[str]] = {}
    for rule, label in (("paper", "paper's rule"), ("auto", "default rule (auto)"), ("gain", "half-gain rule")):
        variants.setdefault(tuple(sizings[rule].sizes), []).append(label)
    base = list(sizings["auto"].sizes)
    for layer, factor in itertools.product(range(len(base)), (0.5, 2.0)):
        v = list(base)
        v[layer] = max(1, round(v[layer] * factor))
        variants.setdefault(tuple(v), []).append(f"layer {layer + 1} x{factor:g}")
    every = "both" if len(base) == 2 else "all"
    for factor in (0.25, 4.0):
        variants.setdefault(tuple(max(1, round(w * factor)) for w in base), []).append(f"{every} x{factor:g}")
    ordered = sorted(variants.items(), key=lambda item: sum(item[0]))
    return sizings, [(hidden, ", ".join(labels)) for hidden, labels in ordered]


def layers(args) -> dict:
    """Size a ``--hidden-layers`` MLP by each rule, then train the estimates and the variations around them."""
    x, y, xt, yt = (torch.from_numpy(a) for a in load(args.data, args.cache))
    regression = y.is_floating_point()
    sizings, variants = sized_variants(x, args.hidden_layers, 1 if regression else int(y.max()) + 1)
    rows = []
    for hidden, label in variants:
        for seed in args.seeds:
            start = time.perf_counter()
            row = _train_one(x, y, xt, yt, list(hidden), seed, args.epochs, args.patience, regression)
            rows.append({**row, "label": label, "seconds": time.perf_counter() - start})
            print(json.dumps(rows[-1]), flush=True)
    print("\n| hidden widths | what | parameters | test loss (mean ± std) | seeds |\n|---|---|---|---|---|")
    for hidden, label in variants:
        runs = [r for r in rows if tuple(r["width"]) == hidden]
        loss = np.array([r["test_loss"] for r in runs])
        spread = f" ± {loss.std(ddof=1):.5f}" if len(loss) > 1 else ""
        print(f"| {'-'.join(map(str, hidden))} | {label} | {runs[0]['parameters']:,} | {loss.mean():.5f}{spread} | "
              f"{len(loss)} |")  # fmt: skip
    return {"data": args.data, "sizing": {r: v.to_dict() for r, v in sizings.items()}, "runs": rows}


def knee(widths: list[int], losses: list[float], share: float) -> int:
    """The narrowest width whose test loss has gained ``share`` of the whole sweep's loss reduction
    (narrowest width's loss → best loss)."""
    first, best = losses[0], min(losses)
    return next(w for w, v in zip(widths, losses) if first - v >= share * (first - best))


def _rows(path: Path) -> list[dict]:
    """Training rows from a results JSON, or from a log of one JSON row per line (a run still going)."""
    text = path.read_text()
    if text.lstrip().startswith("{\n") or '"runs"' in text[:200]:
        return json.loads(text)["runs"]
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def report(args) -> None:
    """Markdown tables from the JSON results: the fits per candidate range and the trained sweep."""
    for path in args.files:
        if path.name.startswith("curves"):
            data = json.loads(path.read_text())
            ts = list(data["runs"][0]["paper_size"])
            print(f"\n{data['data']} ({data['repetitions']} repetitions, {data['activation']})\n")
            print("| part | widths | γ | NRMSE | " + " | ".join(f"s* (t = {t})" for t in ts) + " | half-gain |")
            print("|---|---|---|---|" + "---|" * len(ts) + "---|")
            for r in data["runs"]:
                gain = f"{r['half_gain']:.0f}" + {"above": " (≥, lower bound)", "below": " (≤)"}.get(
                    r["half_gain_status"], ""
                )
                print(
                    f"| {r['part']} | {r['widths'][0]}…{r['max_width']} | {r['gamma']:+.3f} | {r['nrmse']:.3f} | "
                    + " | ".join(f"{r['paper_size'][t]:.0f}" for t in ts)
                    + f" | {gain} |"
                )

    training: dict[str, list[dict]] = {}
    for path in args.files:  # training files of the same data set (e.g. one per seed) make one table
        if not path.name.startswith("curves"):
            name = json.loads(path.read_text()).get("data", path.stem) if path.suffix == ".json" else path.stem
            training.setdefault(name, []).extend(_rows(path))
    for name, rows in training.items():
        widths = sorted({r["width"] for r in rows})
        seeds = sorted({r["seed"] for r in rows})
        print(f"\n{name}: seeds {seeds}\n")
        print("| width | parameters | test loss (mean ± std) | test accuracy | best epoch | seeds |")
        print("|---|---|---|---|---|---|")
        means = []
        for w in widths:
            runs = [r for r in rows if r["width"] == w]
            loss = np.array([r["test_loss"] for r in runs])
            acc = [r["test_accuracy"] for r in runs if r["test_accuracy"] is not None]
            means.append(float(loss.mean()))
            digits = 5 if loss.mean() < 0.01 else 4
            std = f" ± {loss.std(ddof=1):.{digits}f}" if len(loss) > 1 else ""
            print(
                f"| {w} | {runs[0]['parameters']:,} | {loss.mean():.{digits}f}{std} | "
                + (f"{np.mean(acc):.4f}" if acc else "—")
                + f" | {', '.join(str(r['best_epoch']) for r in runs)} | {len(runs)} |"
            )
        print(
            f"\nknee (narrowest width with 90 % / 95 % of the sweep's loss reduction, on the mean over seeds): "
            f"{knee(widths, means, 0.9)} / {knee(widths, means, 0.95)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("curves", "train", "layers", "emt", "report"))
    parser.add_argument("--hidden-layers", type=int, default=3, help="layers: how many hidden layers to size")
    parser.add_argument("files", type=Path, nargs="*", help="report: results JSON files (or training logs)")
    parser.add_argument("--data", choices=("fmnist", "mnist5k", "emt"), default="fmnist")
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256, 512, 1024])
    parser.add_argument("--max-widths", dest="samples", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.005, 0.01, 0.05])
    parser.add_argument("--activation", default="silu")
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--configs", type=int, default=300)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.what == "emt":
        print(make_emt(args.configs, 0, args.cache))
        return
    if args.what == "report":
        report(args)
        return
    result = {"curves": curves, "train": train, "layers": layers}[args.what](args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
