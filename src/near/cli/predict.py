"""``near predict``: held-out quality of the learned predictor on a finished ``near bench`` run."""

from __future__ import annotations

import json
import math

import click

from ..errors import NearError


@click.command("predict")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--train", "-k", type=click.IntRange(min=2), required=True, help="Training architectures per split.")
@click.option("--seeds", "-S", type=click.IntRange(min=1), default=5, show_default=True, help="Random splits.")
@click.option("--proxies", "-p", default=None, help="Comma-separated proxy columns (default: every proxy of the run).")
@click.option("--encoding", is_flag=True, help="Add the search space's architecture encoding to the features.")
@click.option("--no-proxies", is_flag=True, help="Leave the proxy scores out (encoding only; needs --encoding).")
@click.option("--backend", type=click.Choice(["lightgbm", "hist", "xgboost"]), default="lightgbm", show_default=True)
@click.option("--objective", type=click.Choice(["regression", "ranking"]), default="regression", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def predict_command(
    run_dir: str,
    train: int,
    seeds: int,
    proxies: str | None,
    encoding: bool,
    no_proxies: bool,
    backend: str,
    objective: str,
    as_json: bool,
) -> None:
    """Train the predictor (gradient-boosted trees over proxy scores) on K random architectures of RUN_DIR
    and measure Spearman rho, Kendall tau and top-5% precision on all the others: mean ± std over S splits.

    With --json: one object whose spearman, kendall and top5 are the means over the seeds (their *_std
    beside them), with train, test, seeds, features, proxies, space and the estimator's parameters.

    \b
    Examples:
      near predict runs/nb201-c10 --train 128
      near predict runs/nb201-c10 --train 1024 --seeds 5 --encoding --json
      near predict runs/nb201-c10 --train 128 --proxies near,meco,params
    """
    from ..bench.predict import predict_run
    from ..predict import ProxyPredictor

    names = [part.strip() for part in proxies.split(",") if part.strip()] if proxies is not None else None
    try:
        estimator = ProxyPredictor(backend=backend, objective=objective, random_state=0)
        result = predict_run(
            run_dir,
            train,
            seeds=seeds,
            proxies=names,
            encoding=encoding,
            use_proxies=not no_proxies,
            estimator=estimator,
        )
    except NearError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(_json_ready(result), allow_nan=False))
        return
    shown = ", ".join(result["features"][:8]) + (" …" if len(result["features"]) > 8 else "")
    click.echo(
        f"{result['n']} architectures: train {result['train']}, test {result['test']}, {result['seeds']} seeds; "
        f"{len(result['features'])} features ({shown})"
    )
    for key, label in (("spearman", "Spearman rho"), ("kendall", "Kendall tau"), ("top5", "top-5% precision")):
        click.echo(f"{label:>16}: {result[key]:.4f} ± {result[key + '_std']:.4f}")


def _json_ready(value):
    """NaN and ±inf become null (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    return value
