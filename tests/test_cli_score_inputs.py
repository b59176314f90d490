"""`near score` on images normalises them as `near bench` does, and Ctrl-C ends any command with status 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import near
from near import cli
from near.cli import score as score_module
from near.data import load_data

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)  # ../shared/data/README.md


@pytest.fixture
def images(tmp_path) -> Path:
    """200 uint8 RGB 4×4 images whose channels have very different levels, with labels (the MLP needs 128)."""
    rng = np.random.default_rng(0)
    pixels = np.stack([rng.integers(low, low + 60, (200, 4, 4)) for low in (0, 90, 190)], axis=1).astype(np.uint8)
    path = tmp_path / "rgb.npz"
    np.savez(path, images=pixels, labels=np.arange(200) % 4)
    return path


@pytest.fixture
def seen(monkeypatch) -> dict:
    """The inputs `near score` hands to near.score."""
    captured: dict = {}

    def spy(model, inputs, **options):
        captured["inputs"] = inputs
        return near.score(model, inputs, **options)

    monkeypatch.setattr(score_module, "score", spy)
    return captured


def run(*args: str):
    return CliRunner().invoke(cli.main, ["score", "near.models:mlp", *args])


def raw(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.load(path)["images"].astype(np.float32) / 255)


def test_rgb_images_get_the_cifar10_statistics_by_default_like_near_bench(images, seen):
    result = run("--data", str(images), "--seed", "0", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["normalize"] == "cifar10"
    mean, std = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1), torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(seen["inputs"], (raw(images) - mean) / std)
    # the same numbers near bench gives its networks from the same file
    from near.bench.images import load_images

    torch.testing.assert_close(seen["inputs"], load_images(images, num_images=200).x)


def test_sample_statistics_make_every_channel_zero_mean_unit_std(images, seen):
    result = run("--data", str(images), "--seed", "0", "--normalize", "sample")
    assert result.exit_code == 0, result.output
    assert "images normalised: sample" in result.stdout.splitlines()[0]
    x = seen["inputs"]
    torch.testing.assert_close(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-5, rtol=0)


def test_none_keeps_pixels_in_0_1_and_tables_are_never_touched(images, seen):
    assert run("--data", str(images), "--seed", "0", "--normalize", "none").exit_code == 0
    torch.testing.assert_close(seen["inputs"], raw(images))
    result = run("--data", "iris", "--seed", "0", "--json")  # standardised features, not images: kept as given
    assert result.exit_code == 0 and json.loads(result.stdout)["normalize"] == "none"
    assert torch.equal(seen["inputs"], load_data("iris").x)


def test_normalizing_what_is_not_an_image_is_refused_with_what_to_do(seen):
    result = run("--data", "iris", "--normalize", "cifar10")
    assert result.exit_code == 1 and "inputs" not in seen
    assert "is not images in [0, 1]" in result.output and "leave --normalize out" in result.output


def test_a_named_statistic_with_the_wrong_channel_count_is_an_error(seen):
    result = run("--data", "digits", "--normalize", "cifar10")  # digits: 1 channel
    assert result.exit_code == 1 and "3-channel images" in result.output and "sample" in result.output


FACTORY = """
import time
from pathlib import Path

def slow(input_shape, num_classes):
    Path({marker!r}).write_text("started")
    time.sleep(600)
"""


def test_ctrl_c_exits_130_without_aborted(tmp_path):
    (tmp_path / "nets.py").write_text("def stop(input_shape, num_classes):\n    raise KeyboardInterrupt\n")
    result = CliRunner().invoke(cli.main, ["score", f"{tmp_path / 'nets.py'}:stop", "--data", "iris"])
    assert result.exit_code == 130 and "Aborted!" not in result.output and "interrupted" in result.output


def test_sigint_to_a_running_near_score_exits_130(tmp_path):
    """The real thing: a `near score` process interrupted while it builds the model."""
    marker = tmp_path / "started"
    (tmp_path / "nets.py").write_text(textwrap.dedent(FACTORY.format(marker=str(marker))))
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(Path(near.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "near", "score", f"{tmp_path / 'nets.py'}:slow", "--data", "iris"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300  # importing torch on a loaded machine can take a while
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marker.exists(), process.communicate(timeout=5)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Aborted!" not in stderr and "interrupted" in stderr
