"""The `near` command: what it prints, what it passes to near.score, and how it fails."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from functools import partial

import pytest
from click.testing import CliRunner

import near
from near import cli
from near.cli import score as score_command_module
from near.data import BUILTIN_DATASETS, load_data
from near.models import mlp

SMALL = "near.models:mlp"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str):
    return runner.invoke(cli.main, list(args))


def api_score(data: str = "digits", **options) -> near.NearResult:
    """What the command should print, computed with the API directly: images (digits is N×1×8×8 in [0, 1]) are
    first normalised per channel by their own mean and std, as `near score` does by default for 1 channel."""
    loaded = load_data(data)
    x = loaded.x
    if x.ndim == 4:
        x = (x - x.mean(dim=(0, 2, 3), keepdim=True)) / x.std(dim=(0, 2, 3), keepdim=True)
    return near.score(partial(mlp, loaded.input_shape, loaded.num_classes), x, **options)


def test_version(runner):
    result = invoke(runner, "--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"near {near.__version__}"


def test_help_explains_commands_and_spec(runner):
    top = invoke(runner, "--help")
    assert top.exit_code == 0 and "score" in top.stdout and "datasets" in top.stdout
    help_text = invoke(runner, "score", "--help").stdout
    for text in (
        "package.module:function",
        "path/to/file.py:function",
        "input_shape",
        "num_classes",
        "--data",
        "--repetitions",
        "--seed",
        "--json",
        "--batchnorm",
        "--init",
        "--no-shuffle",
        "--no-reinit",
        "--layers",
        "--exclude",
        "--device",
    ):
        assert text in help_text, text


def test_datasets_lists_every_builtin(runner):
    result = invoke(runner, "datasets")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(BUILTIN_DATASETS)


def test_proxies_lists_every_proxy_with_its_metadata(runner):
    import near.proxies

    text = invoke(runner, "proxies")
    assert text.exit_code == 0
    assert [line.split()[0] for line in text.stdout.splitlines()[1:]] == near.proxies.available()
    listed = json.loads(invoke(runner, "proxies", "--json").stdout)["proxies"]
    assert {p["name"]: p["needs_labels"] for p in listed}["snip"] is True
    assert {p["name"]: p["options"] for p in listed}["fisher"] == ["batch_size", "fan_in_weighted"]


def test_text_output_has_header_and_table_matching_the_api(runner):
    result = invoke(runner, "score", SMALL, "--data", "digits", "-r", "2", "--seed", "7")
    assert result.exit_code == 0, result.output
    expected = api_score(repetitions=2, seed=7)
    header, *table = result.stdout.splitlines()
    assert SMALL in header and "digits" in header and "2 repetitions" in header and "seed 7" in header
    assert "\n".join(table) == expected.table()
    assert f"NEAR = {expected.mean:.4f}" in result.stdout


def test_json_is_the_only_stdout_and_matches_the_api(runner):
    result = invoke(runner, "score", SMALL, "--data", "iris", "--seed", "3", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # fails if anything else is on stdout
    expected = api_score("iris", seed=3)
    assert payload == {
        "model": SMALL,
        "data": "iris",
        "normalize": "none",
        **json.loads(json.dumps(expected.to_dict())),
    }
    assert [layer["name"] for layer in payload["layers"]] == ["1", "2", "3", "4", "5"]
    assert payload["layers"][-1]["size"] == 3  # num_classes came from the data


def test_random_seed_is_reported_and_reproduces_the_score(runner):
    first = json.loads(invoke(runner, "score", SMALL, "--data", "iris", "--json").stdout)
    again = json.loads(invoke(runner, "score", SMALL, "--data", "iris", "--json", "--seed", str(first["seed"])).stdout)
    assert again["scores"] == first["scores"]


def test_options_reach_near_score(runner, monkeypatch):
    seen = {}

    def spy(model, inputs, **options):
        seen.update(options, inputs=inputs)
        return near.score(model, inputs, **options)

    monkeypatch.setattr(score_command_module, "score", spy)
    args = [
        "score",
        SMALL,
        "-d",
        "iris",
        "-r",
        "2",
        "-s",
        "5",
        "--batchnorm",
        "running",
        "--init",
        "orthogonal",
        "--no-shuffle",
        "--no-reinit",
        "--layers",
        "[12]",
        "--layers",
        "5",
        "--exclude",
        "2",
        "--device",
        "cpu",
    ]
    result = invoke(runner, *args)
    assert result.exit_code == 0, result.output
    assert seen["inputs"].shape == (150, 4)
    assert {key: seen[key] for key in ("repetitions", "seed", "batchnorm", "init", "shuffle", "reinit")} == {
        "repetitions": 2,
        "seed": 5,
        "batchnorm": "running",
        "init": "orthogonal",
        "shuffle": False,
        "reinit": False,
    }
    assert seen["layers"] == ["[12]", "5"] and seen["exclude"] == ["2"] and seen["device"] == "cpu"
    assert seen["progress"] is False
    assert [line.split()[0] for line in result.stdout.splitlines()[2:4]] == ["1", "5"]


@pytest.mark.parametrize(("extra", "progress"), [((), True), (("--json",), False)])
def test_progress_bar_only_on_a_terminal_without_json(runner, monkeypatch, extra, progress):
    seen = {}
    monkeypatch.setattr(score_command_module, "stderr_is_terminal", lambda: True)
    fake = lambda model, inputs, **options: seen.update(options) or api_score("iris")  # noqa: E731
    monkeypatch.setattr(score_command_module, "score", fake)
    assert invoke(runner, "score", SMALL, "-d", "iris", *extra).exit_code == 0
    assert seen["progress"] is progress


FACTORIES = """
    import torch
    from torch import nn
    from helper import WIDTH  # a module next to this file
    from near.models import mlp

    calls = []

    def build(input_shape, num_classes):
        calls.append((input_shape, num_classes))
        return nn.Sequential(nn.Flatten(), nn.Linear(input_shape[0], WIDTH), nn.Tanh(), nn.Linear(WIDTH, num_classes))

    def noisy(input_shape):
        print("hello from the factory")
        return nn.Linear(input_shape[0], 4)

    def zeros():
        net = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        nn.init.zeros_(net[0].weight)
        nn.init.zeros_(net[0].bias)
        return net

    def needs_depth(input_shape, depth):
        return nn.Linear(input_shape[0], depth)

    def not_a_module():
        return 42

    def stanh(input_shape, num_classes):
        return mlp(input_shape, num_classes, hidden=(8,), activation="stanh")

    def swish(input_shape, num_classes):
        return mlp(input_shape, num_classes, activation="swish")

    NOT_CALLABLE = 3
"""


@pytest.fixture
def factories(tmp_path):
    (tmp_path / "helper.py").write_text("WIDTH = 6\n")
    (tmp_path / "nets.py").write_text(textwrap.dedent(FACTORIES))
    (tmp_path / "broken.py").write_text("1 / 0\n")
    return tmp_path


def test_file_spec_gets_shape_and_classes_from_the_data(runner, factories):
    path_before = list(sys.path)
    result = invoke(runner, "score", f"{factories / 'nets.py'}:build", "-d", "wine", "-r", "2", "--seed", "0", "--json")
    assert result.exit_code == 0, result.output
    assert sys.path == path_before
    layers = {layer["name"]: layer["size"] for layer in json.loads(result.stdout)["layers"]}
    assert layers == {"1": 6, "2": 6, "3": 3}  # WIDTH from helper.py, 3 wine classes
    module = sys.modules["_near_model_nets"]
    assert module.calls == [((13,), 3), ((13,), 3)]  # a fresh model per repetition


def test_stanh_is_scored_as_an_activation(runner, factories):
    result = invoke(runner, "score", f"{factories / 'nets.py'}:stanh", "-d", "iris", "--seed", "0", "--json")
    assert result.exit_code == 0, result.output
    layers = [(layer["name"], layer["kind"], layer["size"]) for layer in json.loads(result.stdout)["layers"]]
    assert layers == [("1", "pre", 8), ("2", "post", 8), ("3", "pre", 3)]


def test_user_prints_and_warnings_go_to_stderr(runner, factories):
    result = invoke(runner, "score", f"{factories / 'nets.py'}:noisy", "-d", "iris", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"].endswith("nets.py:noisy")
    assert "hello from the factory" in result.stderr
    zeros = invoke(runner, "score", f"{factories / 'nets.py'}:zeros", "-d", "iris", "--json")
    assert zeros.exit_code == 0 and json.loads(zeros.stdout)["score"] == 0.0
    assert "Warning: all-zero activations" in zeros.stderr


@pytest.mark.parametrize(
    ("spec", "data", "code", "fragments"),
    [
        ("near.models", "iris", 2, ["'package.module:function'", "path/to/file.py:function"]),
        ("missing_dir/nets.py:build", "iris", 2, ["model file not found", "missing_dir/nets.py"]),
        ("{dir}/broken.py:build", "iris", 2, ["importing", "broken.py", "ZeroDivisionError: division by zero"]),
        ("no_such_module_xyz:build", "iris", 2, ["no module named 'no_such_module_xyz'"]),
        ("{dir}/nets.py:nope", "iris", 2, ["has no attribute 'nope'", "build"]),
        ("{dir}/nets.py:NOT_CALLABLE", "iris", 2, ["NOT_CALLABLE is of type int, not a callable"]),
        ("{dir}/nets.py:needs_depth", "iris", 2, ["needs_depth", "depth"]),
        ("{dir}/nets.py:not_a_module", "iris", 1, ["must return an nn.Module, got int"]),
        (SMALL, "digitz", 1, ["unknown dataset 'digitz'", "digits, iris, wine, breast_cancer", "file"]),
        (SMALL, "{dir}/absent.npz", 1, ["data file not found"]),
        ("near.models:cnn", "iris", 1, ["cnn needs input_shape (channels, height, width)"]),
        ("{dir}/nets.py:swish", "iris", 1, ["unknown activation 'swish'", "relu, silu, gelu", "stanh"]),
    ],
)
def test_errors_are_messages_not_tracebacks(runner, factories, spec, data, code, fragments):
    result = invoke(runner, "score", spec.format(dir=factories), "--data", data.format(dir=factories))
    assert result.exit_code == code, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["score", SMALL], "Missing option '--data'"),
        (["score", SMALL, "-d", "iris", "-r", "0"], "'--repetitions'"),
        (["score", SMALL, "-d", "iris", "--batchnorm", "group"], "'--batchnorm'"),
        (["score", SMALL, "-d", "iris", "--init", "zeros"], "'--init'"),
        (["score", SMALL, "-d", "iris", "--device", "toaster"], "'--device'"),
    ],
)
def test_bad_options_are_usage_errors(runner, args, fragment):
    result = invoke(runner, *args)
    assert result.exit_code == 2 and fragment in result.stderr


def test_installed_console_script_end_to_end():
    executable = shutil.which("near")
    assert executable, "the `near` console script is not installed: run `pip install -e .`"
    completed = subprocess.run(
        [executable, "score", SMALL, "--data", "digits", "--repetitions", "2", "--seed", "11", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    expected = api_score(repetitions=2, seed=11)
    assert payload["model"] == SMALL and payload["data"] == "digits" and payload["repetitions"] == 2
    assert payload["scores"] == pytest.approx(list(expected.scores), rel=1e-9)
    assert payload["batch_size"] == expected.batch_size == 128


# ---------------------------------------------------------------- near size / near select (issue 3)

SIZE_WIDTHS = "8,16,32,64,128"


def test_size_json_contract_matches_the_api(runner):
    result = invoke(
        runner,
        "size",
        "--data",
        "digits",
        "--hidden-layers",
        "2",
        "--widths",
        SIZE_WIDTHS,
        "--repetitions",
        "2",
        "--seed",
        "3",
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    api = near.estimate_layer_sizes(
        load_data("digits").x, 2, widths=(8, 16, 32, 64, 128), repetitions=2, seed=3, warn=False
    )
    assert out["sizes"] == list(api.sizes) and len(out["layers"]) == 2
    for layer, expected in zip(out["layers"], api.layers):
        assert {"size", "alpha", "beta", "gamma", "widths", "relative_scores"} <= set(layer)
        assert layer["size"] == expected.size and layer["widths"] == [8, 16, 32, 64, 128]
        assert layer["gamma"] == pytest.approx(expected.gamma) and len(layer["relative_scores"]) == 5
    assert out["architecture"] == [64, *api.sizes, 10]  # outputs = classes of digits


def test_size_text_plot_and_user_file(runner, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    path = tmp_path / "signals.npz"
    np.savez(path, x=rng.normal(size=(300, 12)).astype("float32"), y=rng.integers(0, 4, 300))
    result = invoke(
        runner,
        "size",
        "-d",
        str(path),
        "-k",
        "1",
        "--widths",
        SIZE_WIDTHS,
        "-r",
        "1",
        "--plot",
        str(tmp_path / "plots"),
        "--threshold",
        "0.01",
        "--activation",
        "tanh",
    )
    assert result.exit_code == 0, result.output
    assert "estimated sizes:" in result.stdout and "layer 1: size" in result.stdout
    assert (tmp_path / "plots" / "layer1.png").read_bytes()[:4] == b"\x89PNG"
    assert "MLP 12-" in result.stdout and "-4 (tanh" in result.stdout  # 12 features, 4 classes in the file


def test_select_json_contract_matches_the_api(runner):
    result = invoke(
        runner,
        "select",
        "--data",
        "digits",
        "--hidden",
        "32,32",
        "--activations",
        "relu,tanhshrink",
        "--inits",
        "kaiming_uniform,uniform",
        "--repetitions",
        "2",
        "--seed",
        "1",
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["results"]
    data = load_data("digits")
    api = near.select(
        data.x,
        (32, 32),
        activations=["relu", "tanhshrink"],
        inits=["kaiming_uniform", "uniform"],
        labels=data.y,
        repetitions=2,
        seed=1,
    )
    assert [(r["activation"], r["init"], r["rank"]) for r in rows] == [(r.activation, r.init, r.rank) for r in api.rows]
    assert [r["mean"] for r in rows] == pytest.approx([r.mean for r in api.rows])
    assert rows[0]["rank"] == 1 and rows[0]["mean"] == max(r["mean"] for r in rows)
    assert all({"activation", "init", "mean", "std", "rank"} <= set(r) for r in rows)
    assert {r["init"] for r in rows if r["bad"]} >= {"uniform"}


def test_select_verify_on_a_builtin(runner, tmp_path):
    result = invoke(
        runner,
        "select",
        "-d",
        "iris",
        "--hidden",
        "16",
        "--activations",
        "relu",
        "--inits",
        "default,uniform",
        "-r",
        "2",
        "--verify",
        "--seeds",
        "0,1",
        "--plot",
        str(tmp_path / "s.png"),
    )
    assert result.exit_code == 0, result.output
    assert "test loss" in result.stdout and "Spearman" in result.stdout
    assert (tmp_path / "s.png").is_file()


@pytest.mark.parametrize(
    ("args", "code", "fragments"),
    [
        (["size", "-d", "digits", "-k", "1", "--threshold", "0"], 2, ["'--threshold'", "0<x<1"]),
        (["size", "-d", "digits", "-k", "1", "--threshold", "1.5"], 2, ["'--threshold'"]),
        (["size", "-d", "digits", "-k", "0"], 2, ["'--hidden-layers'"]),
        (["size", "-d", "digits", "-k", "1", "--widths", "8,a"], 2, ["'--widths'", "comma-separated list of integers"]),
        (["size", "-d", "digits", "-k", "1", "--widths", "1,8,16,32"], 1, ["widths must be at least 2"]),
        (["size", "-d", "digits", "-k", "1", "--widths", "8,16,32"], 1, ["too few to fit", "at least 4"]),
        (["size", "-d", "iris", "-k", "1", "--widths", "8,16,32,256"], 1, ["256 needs 256 samples but only 150"]),
        (["size", "-d", "digits", "-k", "1", "--activation", "swish"], 2, ["unknown activation 'swish'", "stanh"]),
        (["size", "-d", "digits", "-k", "1", "--init", "he"], 2, ["unknown init 'he'", "xavier_uniform"]),
        (["size", "-d", "digitz", "-k", "1"], 1, ["unknown dataset 'digitz'"]),
        (["select", "-d", "digits", "--activations", "relu,swish"], 2, ["unknown activation 'swish'"]),
        (["select", "-d", "digits", "--inits", "zeros"], 2, ["unknown init 'zeros'", "orthogonal"]),
        (["select", "-d", "digits", "--hidden", "0"], 2, ["'--hidden'"]),
        (
            ["select", "-d", "iris", "--hidden", "200"],
            1,
            ["hidden width 200 needs at least 200 samples", "Pass at least 200 samples"],
        ),
        (["select", "-d", "digits", "--bad-below", "2"], 2, ["'--bad-below'"]),
        (["select", "-d", "digits", "--seeds", "-1"], 2, ["'--seeds'"]),
    ],
)
def test_size_and_select_bad_input_is_a_message(runner, args, code, fragments):
    result = invoke(runner, *args)
    assert result.exit_code == code, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_verify_needs_labels(runner, tmp_path):
    import numpy as np

    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).normal(size=(100, 4)).astype("float32"))
    for args in (["size", "-k", "1", "--widths", "8,16,32,64"], ["select", "--hidden", "8"]):
        result = invoke(runner, *args, "-d", str(path), "--verify")
        assert result.exit_code == 1 and "needs labels" in result.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["size", "-d", "digits", "-k", "1", "--plot", "{blocker}/plots"], "is a file, not a folder"),
        (["select", "-d", "digits", "--hidden", "8", "--verify", "--plot", "{blocker}/x.png"], "is a file"),
        (["select", "-d", "digits", "--hidden", "8", "--plot", "{tmp}/x.png"], "add --verify"),
    ],
)
def test_an_unwritable_plot_is_refused_before_any_work(runner, tmp_path, args, fragment):
    """Not a raw FileNotFoundError from matplotlib after minutes of training, nor a silently ignored --plot."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = [a.format(blocker=blocker, tmp=tmp_path) for a in args]
    result = invoke(runner, *args, "--json")
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr and "Traceback" not in result.output and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_select_plot_into_a_new_folder(runner, tmp_path):
    target = tmp_path / "new" / "near_vs_loss.png"
    args = ["select", "-d", "digits", "--hidden", "8", "--activations", "relu", "--inits", "default,uniform"]
    result = invoke(runner, *args, "-r", "2", "--verify", "--seeds", "0", "--plot", str(target), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["plots"] == [str(target)] and target.read_bytes()[:4] == b"\x89PNG"


def _regression_csv(tmp_path, samples=120):
    """A chemistry-like table: float64 descriptors and a real-valued target column (an energy)."""
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.normal(size=(samples, 6))
    energy = np.sin(x[:, 0]) + 0.1 * x[:, 1] ** 2
    path = tmp_path / "energies.csv"
    header = ",".join([f"d{i}" for i in range(6)] + ["target"])
    np.savetxt(path, np.c_[x, energy], delimiter=",", header=header, comments="")
    return path


def test_size_and_select_take_regression_targets_with_one_output(runner, tmp_path):
    path = str(_regression_csv(tmp_path))
    result = invoke(runner, "size", "-d", path, "-k", "1", "--widths", "8,16,32,64", "-r", "1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["architecture"][-1] == 1
    result = invoke(
        runner,
        "select",
        "-d",
        path,
        "--hidden",
        "8",
        "--activations",
        "relu,tanh",
        "--inits",
        "uniform",
        "-r",
        "1",
        "--verify",
        "--seeds",
        "0",
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)  # strict JSON: no NaN for the accuracy regression does not have
    assert out["outputs"] == 1 and all(r["test_loss"] > 0 and r["test_accuracy"] is None for r in out["results"])


def test_size_json_is_identical_for_the_same_seed(runner):
    args = ("size", "-d", "iris", "-k", "1", "--widths", "8,16,32,64", "-r", "1", "--seed", "3", "--json")
    first, second = invoke(runner, *args), invoke(runner, *args)
    assert first.exit_code == 0 and first.stdout == second.stdout


def test_size_verify_trains_widths_beyond_the_sample_count(runner):
    """iris has 150 samples: 20 x the estimate is wider, so its NEAR is left out (null), not a crash."""
    result = invoke(
        runner,
        "size",
        "-d",
        "iris",
        "-k",
        "1",
        "--widths",
        "8,16,32,64",
        "-r",
        "1",
        "--verify",
        "--factors",
        "1,20",
        "--seeds",
        "0",
        "--json",
    )
    assert result.exit_code == 0, result.output
    networks = json.loads(result.stdout)["verification"]["networks"]
    assert networks[0]["near"] > 0 and networks[1]["near"] is None and networks[1]["test_loss"] > 0
    assert "NEAR not computed" in result.stderr


def test_size_on_constant_data_is_a_message(runner, tmp_path):
    import numpy as np

    path = tmp_path / "constant.npz"
    np.savez(path, x=np.ones((100, 5)), y=np.zeros(100))
    result = invoke(runner, "size", "-d", str(path), "-k", "1", "--widths", "8,16,32,64", "-r", "1", "--json")
    assert result.exit_code == 1 and result.stdout == "" and "Traceback" not in result.output
    assert "does not grow with its width" in result.stderr and "constant" in result.stderr


def _energy_csv(tmp_path, samples=120, name="energy"):
    """30 descriptors and an `energy` column that no label name matches: the issue's practitioner table."""
    import numpy as np

    rng = np.random.default_rng(2)
    x = rng.normal(size=(samples, 30))
    energy = np.sin(x[:, 0]) + 0.1 * x[:, 1] ** 2
    path = tmp_path / "descriptors.csv"
    header = ",".join([f"g{i}" for i in range(30)] + [name])
    np.savetxt(path, np.c_[x, energy], delimiter=",", header=header, comments="")
    return path


def test_target_column_makes_a_regression_mlp(runner, tmp_path):
    path = str(_energy_csv(tmp_path))
    result = invoke(
        runner, "size", "-d", path, "--target", "energy", "-k", "1", "--widths", "8,16,32,64", "-r", "1", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["architecture"][0] == 30 and json.loads(result.stdout)["architecture"][-1] == 1


def test_no_target_column_is_said_and_the_columns_are_named(runner, tmp_path):
    path = str(_energy_csv(tmp_path))
    result = invoke(runner, "size", "-d", path, "-k", "1", "--widths", "8,16,32,64", "-r", "1", "--verify")
    assert result.exit_code == 1
    assert "g0, g1" in result.stderr and "energy" in result.stderr and "--target" in result.stderr
    result = invoke(runner, "size", "-d", path, "-k", "1", "--widths", "8,16,32,64", "-r", "1", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["architecture"][0] == 31  # all features, but said:
    assert "no target column" in result.stderr and "--target" in result.stderr
    result = invoke(runner, "size", "-d", path, "--target", "Energie", "-k", "1")
    assert result.exit_code == 1 and "no column named 'Energie'" in result.stderr and "g29, energy" in result.stderr


def test_score_sizes_its_output_like_size_and_select(runner, tmp_path):
    path = str(_energy_csv(tmp_path, samples=200))  # the default MLP's 128-wide layers need 128 samples
    result = invoke(runner, "score", SMALL, "-d", path, "--target", "energy", "--seed", "0", "--json")
    assert result.exit_code == 0, result.output
    layers = json.loads(result.stdout)["layers"]
    expected = near.score(partial(mlp, (30,), 1), load_data(path, target="energy").x, seed=0)
    assert [layer["name"] for layer in layers] == [layer.name for layer in expected.layers]
    assert layers[-1]["size"] == 1  # the output layer: one regression target, not 10 classes
    assert json.loads(result.stdout)["score"] == pytest.approx(expected.mean)


def test_verify_on_regression_speaks_of_mse_and_has_no_accuracy(runner, tmp_path):
    path = str(_energy_csv(tmp_path))
    args = ["size", "-d", path, "--target", "energy", "-k", "1", "--widths", "8,16,32,64", "-r", "1"]
    args += ["--verify", "--factors", "0.5,1", "--seeds", "0"]
    text = invoke(runner, *args)
    assert text.exit_code == 0, text.output
    assert "test MSE" in text.stdout and "acc" not in text.stdout.split("hidden widths")[1]
    out = json.loads(invoke(runner, *args, "--json").stdout)
    verification = out["verification"]
    assert verification["loss"] == "mean squared error"
    assert all(n["test_accuracy"] is None and n["test_accuracy_std"] is None for n in verification["networks"])


def test_threads_sets_torch_threads_for_the_training_only(runner, tmp_path, monkeypatch):
    import torch

    from near.mlp import training

    seen = []
    real = training.train_classifier

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_classifier", spy)
    before = torch.get_num_threads()
    path = str(_energy_csv(tmp_path))
    args = ["size", "-d", path, "--target", "energy", "-k", "1", "--widths", "8,16,32,64", "-r", "1"]
    for threads, expected in (([], 1), (["--threads", "2"], 2)):  # default: one thread (docs/mlp-sizing.md)
        seen.clear()
        result = invoke(runner, *args, "--verify", "--factors", "1", "--seeds", "0", *threads, "--json")
        assert result.exit_code == 0, result.output
        assert seen == [expected] and torch.get_num_threads() == before
