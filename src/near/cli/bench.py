"""``near bench``: score a NAS benchmark's architectures with proxies and correlate with accuracy."""

from __future__ import annotations

import click

from ..bench.executors import MAX_TIME_LIMIT
from ..bench.tables import ACCURACY_COLUMNS
from ..errors import NearError
from ..formats.nats import DATASETS, METRICS
from ._console import resumable, stderr_is_terminal, warnings_to_stderr
from ._options import NORMALIZE_OPTION, device, proxy_options


def _space(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from .. import spaces

    try:
        return spaces.get(value).name
    except NearError as error:
        raise click.BadParameter(str(error)) from None


def _proxy_list(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    from ..bench import resolve_proxies

    try:
        return resolve_proxies(value)
    except NearError as error:
        raise click.BadParameter(str(error)) from None


@click.command("bench")
@click.argument("space", callback=_space, metavar="SPACE")
@click.option(
    "--table",
    "-t",
    required=True,
    type=click.Path(),
    help="Ground-truth CSV of SPACE, or an official NATS-Bench directory (NATS-tss-…-simple, NATS-sss-…-simple).",
)
@click.option(
    "--images",
    "-i",
    required=True,
    metavar="IMAGES",
    help="Images (N×3×H×W) and labels: an .npz, or a folder: cifar-10-batches-py, cifar-100-python, NB201's "
    "ImageNet16, image files in class subfolders (docs/formats.md).",
)
@click.option(
    "--proxies",
    "-p",
    "proxy_names",
    required=True,
    callback=_proxy_list,
    metavar="P1,P2,…",
    help="Proxies to compute (see `near proxies`), or 'all'.",
)
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option(
    "--sample",
    "-n",
    type=click.IntRange(min=1),
    default=None,
    help="Architectures drawn from the table by --seed. Default: every row.",
)
@click.option(
    "--seed", "-s", type=click.IntRange(min=0), default=0, show_default=True, help="Sample, weights, proxies."
)
@click.option(
    "--repetitions",
    "-r",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="NEAR's repetitions (fresh weights and samples each); the paper uses 32.",
)
@click.option(
    "--num-classes",
    type=click.IntRange(min=1),
    default=None,
    help="Classifier width. Default: max label + 1 in IMAGES.",
)
@click.option(
    "--num-images",
    type=click.IntRange(min=1),
    default=None,
    help="Images given to every architecture (the first ones of IMAGES). Default: 256, or all when fewer.",
)
@NORMALIZE_OPTION
@click.option(
    "--accuracy-column",
    default=None,
    metavar="COLUMN",
    help=f"Table column with the accuracy. Default: the one of {', '.join(ACCURACY_COLUMNS)} present.",
)
@click.option(
    "--dataset",
    type=click.Choice(DATASETS, case_sensitive=False),
    default=None,
    help="NATS-Bench directory: the dataset whose accuracy is the ground truth. Default: cifar10.",
)
@click.option(
    "--metric",
    type=click.Choice(METRICS),
    default=None,
    help="NATS-Bench directory: test or valid accuracy (cifar10 valid: the cifar10-valid runs). Default: test.",
)
@click.option(
    "--hp",
    default=None,
    metavar="EPOCHS",
    help="NATS-Bench directory: the training setting, TSS 12 or 200, SSS 01, 12 or 90. Default: 200 (TSS), 90 (SSS).",
)
@click.option(
    "--option",
    "proxy_options",
    multiple=True,
    callback=proxy_options,
    metavar="PROXY.OPTION=VALUE",
    help="A proxy option, e.g. near.batchnorm=sample or nwot.batch_size=64 (repeatable).",
)
@click.option(
    "--device", callback=device, metavar="DEV", help="Where the proxies run, e.g. cuda:0. Default: cuda if present."
)
@click.option("--timings", is_flag=True, help="Add <proxy>_seconds columns to scores.csv.")
@click.option(
    "--executor",
    type=click.Choice(["processes", "serial", "ray"]),
    default="processes",
    show_default=True,
    help="Where architectures are scored: worker processes, this process, or a Ray cluster (near-nas[ray]).",
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (ray: tasks at once). Default: one per core (ray: the cluster's CPUs).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True, max=MAX_TIME_LIMIT),  # inf or 1e300 would overflow the waits
    default=None,
    metavar="SECONDS",
    help="Stop an architecture after this long and record it as failed (processes and ray). Default: none.",
)
@click.option(
    "--address",
    default=None,
    metavar="ADDR",
    help="Ray cluster: auto, or the head node's host:port. Default: $RAY_ADDRESS, else a local instance.",
)
@click.option("--retry-failed", is_flag=True, help="Score again the architectures an earlier run recorded as failed.")
def bench_command(
    space: str,
    table: str,
    images: str,
    proxy_names: list[str],
    out_dir: str,
    sample: int | None,
    seed: int,
    repetitions: int,
    num_classes: int | None,
    num_images: int | None,
    normalize: str | None,
    accuracy_column: str | None,
    dataset: str | None,
    metric: str | None,
    hp: str | None,
    proxy_options: dict[str, dict],
    device: str | None,
    timings: bool,
    executor: str,
    workers: int | None,
    time_limit: float | None,
    address: str | None,
    retry_failed: bool,
) -> None:
    """Score architectures of a NAS benchmark with zero-cost proxies and correlate them with their accuracy.

    SPACE is nb201, nats-sss or nb101. Architectures are scored in parallel (--executor) and every
    finished one is stored at once in OUT/results.sqlite: a run stopped in any way (Ctrl-C, kill)
    loses nothing, and the same command resumes it. An architecture whose worker crashes or passes
    --time-limit is recorded as failed and the run goes on. One run at a time per OUT. When all
    are scored, OUT/scores.csv, OUT/correlations.json, OUT/run.json and the report (OUT/report.md,
    OUT/report.html: see `near report`) are written.

    \b
    Examples:
      near bench nb201 -t nb201_cifar10.csv -i cifar10_960.npz -p near,params,flops -n 1000 -r 32 -o runs/c10
      near bench nb201 -t c100.csv -i c100.npz -p all -n 200 --num-classes 100 --normalize cifar100 -o runs/c100
      near bench nb101 -t nb101_500.csv -i cifar10_960.npz -p near,params,zen -o runs/nb101
      near bench nb201 -t NATS-tss-v1_0-3ffb9-simple --dataset cifar100 -i cifar-100-python -p near -n 99 -o runs/nats
    """
    from ..bench import run

    try:
        with warnings_to_stderr(at_once=True), resumable(out_dir):
            result = run(
                space,
                table,
                images,
                proxy_names,
                out_dir=out_dir,
                sample=sample,
                seed=seed,
                repetitions=repetitions,
                num_classes=num_classes,
                options=proxy_options,
                num_images=num_images,
                normalize=normalize,
                accuracy_column=accuracy_column,
                dataset=dataset,
                metric=metric,
                hp=hp,
                device=device,
                timings=timings,
                progress=stderr_is_terminal(),
                executor=executor,
                workers=workers,
                time_limit=time_limit,
                address=address,
                retry_failed=retry_failed,
            )
    except NearError as error:
        raise click.ClickException(str(error)) from None
    for category, found in result.warnings.items():
        click.echo(f"Warning: {found['count']} × {category}, e.g.: {found['example']}", err=True)
    click.echo(
        f"{space}: {len(result.rows)} architectures, seed {seed}; {result.computed} proxy values computed, "
        f"{result.reused} reused, {result.seconds:.1f} s"
    )
    if result.failed:
        click.echo(
            f"{result.failed} architecture(s) recorded as failed (worker crashed, time limit or error; the reasons "
            "are in correlations.json's nan_reasons and the report); --retry-failed scores them again",
            err=True,
        )
    width = max(len(name) for name in result.scores)
    click.echo(f"{'proxy':<{width}}  spearman  kendall  pairwise  top10%  NaN")
    for name, values in result.correlations["proxies"].items():
        numbers = (values["spearman"], values["kendall"], values["pairwise"], values["top_k"]["top10%"])
        cells = "  ".join(f"{v:>{w}.3f}" for v, w in zip(numbers, (8, 7, 8, 6)))
        click.echo(f"{name:<{width}}  {cells}  {values['n_nan']:>3}")
    for path in result.files:
        click.echo(f"wrote {path}")
