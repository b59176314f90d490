"""Layer-size estimation: the fit, the estimate, the iterative scheme, the semantics and every bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import near
from near.data import load_data
from near.errors import InsufficientSamplesError, OptionError
from near.mlp import plots, sizing
from near.mlp.activations import STanh
from near.mlp.build import resolve_init
from near.mlp.powerlaw import FitError, fit_power_law, power_law, size_from_fit
from near.mlp.sizing import SizingWarning, default_widths, draw_repetition, layer_relative_scores

SMALL = (8, 16, 32, 64, 128)


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return load_data("digits").x


def quiet(**kwargs):
    kwargs.setdefault("warn", False)
    return kwargs


@pytest.mark.parametrize("alpha, beta, gamma", [(0.2, 0.8, -0.4), (-0.5, 1.5, -0.1), (0.05, 0.95, -1.2)])
def test_fit_recovers_a_known_power_law(alpha, beta, gamma):
    widths = np.array([8, 16, 32, 64, 128, 256, 512])
    fit = fit_power_law(widths, power_law(widths, alpha, beta, gamma))
    assert (fit.alpha, fit.beta, fit.gamma) == pytest.approx((alpha, beta, gamma), rel=1e-4, abs=1e-6)
    assert fit.r2 == pytest.approx(1.0) and fit.nrmse < 1e-6


def test_fit_prepends_the_point_one_one():
    """A curve through (1, 1) fits exactly; shifting the data off it leaves a residual at s = 1."""
    widths = np.array([8, 16, 32, 64, 128])
    exact = fit_power_law(widths, power_law(widths, 0.3, 0.7, -0.5))
    off = fit_power_law(widths, power_law(widths, 0.3, 0.7, -0.5) + 0.2)
    assert exact.nrmse < 1e-6 < off.nrmse


@pytest.mark.parametrize("gamma, threshold", [(-1.0, 0.005), (-0.3, 0.005), (0.5, 0.01), (-2.0, 0.1)])
def test_estimate_is_where_the_slope_falls_to_the_threshold(gamma, threshold):
    s = size_from_fit(gamma, threshold)
    assert s == pytest.approx(threshold ** (1 / (gamma - 1)))
    slope = lambda x: gamma * x ** (gamma - 1)  # noqa: E731 - f'(s) up to the factor β
    assert slope(s) / slope(1.0) == pytest.approx(threshold)


def test_gamma_near_zero_gives_one_over_threshold():
    assert size_from_fit(-1e-6, 0.005) == pytest.approx(200, rel=1e-4)


@pytest.mark.parametrize("gamma", [1.0, 1.5])
def test_no_estimate_without_a_decaying_slope(gamma):
    with pytest.raises(FitError, match="not below 1.*more repetitions"):
        size_from_fit(gamma)


def test_rising_relative_scores_are_flagged_as_a_poor_fit():
    """Relative scores that grow with width are no power-law decay: the estimate comes with a warning."""
    widths = (8, 16, 32, 64, 128)
    rising = np.tile(power_law(np.array(widths), 0.5, 0.5, 1.2), (2, 1))
    estimate = sizing._estimate(1, widths, rising, (), 0.005)
    assert any("fits the relative scores poorly" in w for w in estimate.warnings)


def test_non_converging_fit_is_a_fit_error_not_a_scipy_traceback(monkeypatch):
    import scipy.optimize

    def fail(*args, **kwargs):
        raise RuntimeError("Optimal parameters not found: Number of calls to function has reached maxfev = 10000.")

    monkeypatch.setattr(scipy.optimize, "curve_fit", fail)
    with pytest.raises(FitError, match="did not converge.*more repetitions.*wider range"):
        fit_power_law([8, 16, 32, 64], [0.9, 0.8, 0.6, 0.4])
    with pytest.raises(FitError, match="NaN"):
        fit_power_law([8, 16, 32, 64], [0.9, math.nan, 0.6, 0.4])


@pytest.mark.parametrize("init", ["default", "xavier_uniform"])
def test_relative_score_is_the_layers_near_score_per_neuron_and_matrix(digits, init):
    """The fast path (shared prefix, sliced widths for fan-in-only inits) gives exactly what near.score
    gives for that layer's pre- and post-activation of the equivalent MLP on the same samples."""
    x = digits.flatten(1)
    name, init_fn = resolve_init(init)
    sliceable = init == "default"
    widths = (8, 16, 32, 64)
    rel = layer_relative_scores(
        x, (20,), widths, activation=nn.SiLU, init=init_fn, sliceable=sliceable, seed=3, layer=2
    )
    prefix, sized, index = draw_repetition(x, (20,), widths, nn.SiLU, init_fn, sliceable, 3, 2, 0)
    assert isinstance(sized, nn.Linear) == sliceable
    for j, s in enumerate(widths):
        layer = nn.Linear(20, s)
        source = sized if sliceable else sized[s]
        with torch.no_grad():
            layer.weight.copy_(source.weight[:s])
            layer.bias.copy_(source.bias[:s])
        model = nn.Sequential(*prefix, layer, nn.SiLU())
        expected = near.score(model, x[index][:s], reinit=False, shuffle=False, layers=["2", "3"])
        assert rel[0, j] == pytest.approx(expected.mean / (2 * s), rel=1e-12)


def test_part_selects_the_matrices(digits):
    x = digits.flatten(1)
    _, init_fn = resolve_init(None)
    common = dict(activation=nn.Tanh, init=init_fn, sliceable=True, seed=1)
    both, pre, post = (layer_relative_scores(x, (), SMALL, part=p, **common) for p in ("both", "pre", "post"))
    np.testing.assert_allclose(both, (pre + post) / 2)


def test_sizing_is_iterative_earlier_layers_fixed_at_their_estimates(digits):
    result = near.estimate_layer_sizes(digits, 3, widths=SMALL, repetitions=2, seed=5, **quiet())
    assert [e.fixed for e in result.layers] == [(), result.sizes[:1], result.sizes[:2]]
    _, init_fn = resolve_init(None)
    again = layer_relative_scores(
        digits.flatten(1),
        result.sizes[:1],
        SMALL,
        activation=nn.SiLU,
        init=init_fn,
        sliceable=True,
        repetitions=2,
        seed=5,
        layer=2,
    )
    np.testing.assert_allclose(result.layers[1].relative_scores, again.mean(axis=0))


def test_result_reports_fit_estimate_and_scores(digits):
    result = near.estimate_layer_sizes(digits, 2, widths=SMALL, repetitions=3, seed=0, outputs=10, **quiet())
    assert result.architecture == (64, *result.sizes, 10)
    for e in result.layers:
        assert e.size == max(1, round(e.size_exact))
        assert e.size_exact == pytest.approx(size_from_fit(e.gamma, 0.005))
        assert e.widths == SMALL and len(e.relative_scores) == len(e.relative_stds) == len(SMALL)
        assert all(0 < r <= 1 for r in e.relative_scores) and all(d > 0 for d in e.relative_stds)
        assert list(e.relative_scores) == sorted(e.relative_scores, reverse=True)
    data = result.to_dict()
    assert data["sizes"] == list(result.sizes)
    assert {"size", "alpha", "beta", "gamma", "widths", "relative_scores", "r2", "nrmse"} <= set(data["layers"][0])
    assert "layer 2" in result.table() and "relative score" in result.table()


def test_seed_reproduces_and_other_seeds_differ(digits):
    first, again, other = (
        near.estimate_layer_sizes(digits, 1, widths=SMALL, repetitions=2, seed=s, **quiet()) for s in (1, 1, 2)
    )
    assert first.layers == again.layers
    assert first.layers[0].relative_scores != other.layers[0].relative_scores


def test_global_rng_untouched(digits):
    before = torch.random.get_rng_state()
    np_before = np.random.get_state()[1].copy()
    near.estimate_layer_sizes(digits, 1, widths=SMALL, repetitions=1, seed=0, **quiet())
    assert torch.equal(before, torch.random.get_rng_state()) and np.array_equal(np_before, np.random.get_state()[1])


def test_smaller_threshold_gives_wider_layers(digits):
    wide, narrow = (
        near.estimate_layer_sizes(digits, 1, widths=SMALL, repetitions=2, threshold=t, seed=0, **quiet())
        for t in (0.001, 0.05)
    )
    assert wide.sizes[0] > narrow.sizes[0]


def test_estimate_outside_the_candidate_range_is_warned_with_a_remedy():
    wine = load_data("wine").x  # 178 samples: widths up to 128, while the estimate lies above
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = near.estimate_layer_sizes(wine, 1, repetitions=2, seed=0, rule="paper")
    messages = [str(w.message) for w in caught if issubclass(w.category, SizingWarning)]
    assert any("above the widest candidate width 128" in m and "add candidate widths" in m for m in messages)
    assert any("above the widest" in w for w in result.layers[0].warnings)


def test_poor_fit_and_log_like_fit_are_warned(digits, monkeypatch):
    monkeypatch.setattr(sizing, "POOR_FIT_NRMSE", 0.0)
    monkeypatch.setattr(sizing, "LOG_LIKE_GAMMA", 10.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        near.estimate_layer_sizes(digits, 1, widths=SMALL, repetitions=2, seed=0)
    messages = [str(w.message) for w in caught if issubclass(w.category, SizingWarning)]
    assert any("fits the relative scores poorly" in m and "more repetitions" in m for m in messages)
    assert any("close to 0" in m and "1/t = 200" in m for m in messages)


def test_custom_activation_and_init_function(digits):
    calls = []

    def scaled_normal(model):
        calls.append(model)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=1 / math.sqrt(m.in_features))

    result = near.estimate_layer_sizes(
        digits, 1, widths=SMALL, repetitions=1, activation=STanh, init=scaled_normal, **quiet()
    )
    assert (result.activation, result.init) == ("STanh", "scaled_normal")
    assert len(calls) == len(SMALL)  # an opaque init function: every width is built, never sliced


def test_plot_per_layer(tmp_path, digits):
    result = near.estimate_layer_sizes(digits, 2, widths=SMALL, repetitions=1, **quiet())
    paths = result.plot(tmp_path / "plots")
    assert [p.name for p in paths] == ["layer1.png", "layer2.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_default_widths_follow_the_number_of_samples():
    assert default_widths(5000) == (8, 16, 32, 64, 128, 256, 512, 1024)
    assert default_widths(300) == (8, 16, 32, 64, 128, 256)
    with pytest.raises(InsufficientSamplesError, match="at least 64 samples"):
        default_widths(40)


@pytest.mark.parametrize(
    "options, error, fragment",
    [
        ({"threshold": 0}, OptionError, "threshold must be a fraction strictly between 0 and 1"),
        ({"threshold": 1.0}, OptionError, "strictly between 0 and 1"),
        ({"threshold": -0.1}, OptionError, "threshold"),
        ({"threshold": "0.01"}, OptionError, "threshold"),
        ({"widths": [1, 8, 16, 32]}, OptionError, "at least 2"),
        ({"widths": [8, 16, 16, 32]}, OptionError, "twice"),
        ({"widths": [8, 16, 32]}, OptionError, "too few to fit.*at least 4"),
        ({"widths": [8, 16, 0, 32]}, OptionError, "positive integers"),
        ({"widths": [8, 16, 32, 4096]}, InsufficientSamplesError, "4096 needs 4096 samples but only 1797"),
        ({"hidden_layers": 0}, OptionError, "hidden_layers must be a positive integer"),
        ({"repetitions": 0}, OptionError, "repetitions"),
        ({"outputs": 0}, OptionError, "outputs"),
        ({"seed": -1}, OptionError, "seed"),
        ({"part": "all"}, OptionError, "part must be one of"),
        ({"activation": "swish"}, OptionError, "unknown activation 'swish'; choose one of relu, silu"),
        ({"init": "he"}, OptionError, "unknown init 'he'; choose one of default"),
    ],
)
def test_bad_input_is_a_clear_error(digits, options, error, fragment):
    options = {"hidden_layers": 1, "widths": SMALL, **options}
    with pytest.raises(error, match=fragment):
        near.estimate_layer_sizes(digits, **options)


def test_bad_samples_are_clear_errors():
    with pytest.raises(OptionError, match=r"shape \(samples, features"):
        near.estimate_layer_sizes(torch.randn(100), 1)
    with pytest.raises(near.InputError, match="NaN"):
        near.estimate_layer_sizes(torch.full((100, 3), math.nan), 1)


def test_stochastic_activation_is_scored_in_eval_mode_as_near_score_does(digits):
    """RReLU draws its slopes in training mode: sizing must score it as near.score does (eval mode), and
    so leave the caller's RNG alone and give the same numbers as near.score on that layer."""
    x = digits.flatten(1)
    _, init_fn = resolve_init(None)
    before = torch.random.get_rng_state()
    rel = layer_relative_scores(x, (), (8, 16, 32, 64), activation=nn.RReLU, init=init_fn, sliceable=True, seed=2)
    assert torch.equal(before, torch.random.get_rng_state())
    prefix, sized, index = draw_repetition(x, (), (8, 16, 32, 64), nn.RReLU, init_fn, True, 2, 1, 0)
    layer = nn.Linear(64, 8)
    with torch.no_grad():
        layer.weight.copy_(sized.weight[:8])
        layer.bias.copy_(sized.bias[:8])
    expected = near.score(nn.Sequential(layer, nn.RReLU()), x[index][:8], reinit=False, shuffle=False)
    assert rel[0, 0] == pytest.approx(expected.mean / 16, rel=1e-12)


def test_plots_are_all_or_nothing(tmp_path, digits, monkeypatch):
    result = near.estimate_layer_sizes(digits, 2, widths=SMALL, repetitions=1, **quiet())
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OptionError, match="a-file"):
        result.plot(blocker / "plots")
    real, calls = plots.plot_layer_fit, []

    def fail_on_second(estimate, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(estimate, path)

    monkeypatch.setattr(plots, "plot_layer_fit", fail_on_second)
    with pytest.raises(OptionError, match="cannot write the plots into .*plots: No space left on device"):
        result.plot(tmp_path / "new" / "plots")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # layer1.png and the new folders removed


def test_constant_inputs_are_a_fit_error_not_a_threshold_only_estimate():
    """Identical samples give score 1 at every width: the fit (γ = −1) would say t^(−1/2) ≈ 14 for any data."""
    with pytest.raises(FitError, match="does not grow with its width.*constant"):
        near.estimate_layer_sizes(torch.ones(80, 5), 1, widths=(8, 16, 32, 64), repetitions=1)


def test_to_dict_is_the_same_for_the_same_seed():
    x = torch.randn(80, 5, generator=torch.Generator().manual_seed(0))
    runs = [near.estimate_layer_sizes(x, 1, widths=(8, 16, 32, 64), repetitions=1, seed=2, warn=False) for _ in "ab"]
    assert runs[0].to_dict() == runs[1].to_dict() and "seconds" not in runs[0].to_dict()


def test_fit_is_the_authors_curve_fit():
    """The paper's rule exactly: (1, 1) prepended, curve_fit of a + b·s^c from (1, 2, -1), s* = t^(1/(c-1))."""
    from scipy.optimize import curve_fit

    widths = np.array([8, 16, 32, 64, 128, 256])
    relative = np.array([0.62, 0.52, 0.47, 0.45, 0.42, 0.38])
    (a, b, c), _ = curve_fit(lambda s, a, b, c: a + b * s**c, np.r_[1, widths], np.r_[1, relative], p0=(1, 2, -1))
    fit = fit_power_law(widths, relative)
    assert (fit.alpha, fit.beta, fit.gamma) == pytest.approx((a, b, c), rel=1e-6)
    estimate = sizing._estimate(1, tuple(widths), np.tile(relative, (3, 1)), (), 0.005, "paper")
    assert estimate.rule == "paper" and estimate.size_exact == pytest.approx(0.005 ** (1 / (c - 1)), rel=1e-6)


def _log_like(widths, reps=4, noise=0.0):
    """Relative scores falling exactly like log s, A(s) = s·r(s) bending where r reaches 0: γ → 0."""
    rng = np.random.default_rng(0)
    r = 1 - 0.12 * np.log(np.asarray(widths, dtype=float))
    return r + rng.normal(0, noise, (reps, len(widths)))


def test_auto_rule_replaces_a_degenerate_paper_estimate_by_the_half_gain_width():
    widths = (8, 16, 32, 64, 128, 256, 512, 1024)
    relative = _log_like(widths, noise=0.002)
    auto = sizing._estimate(1, widths, relative, (), 0.005)
    assert abs(auto.gamma) < sizing.LOG_LIKE_GAMMA and auto.paper_size == pytest.approx(200, rel=0.05)
    assert auto.rule == "gain" and auto.degenerate.startswith("γ ≈ 0")
    assert auto.size_exact == auto.gain_size and auto.gain_status == "inside"
    low, high = auto.interval
    assert low <= auto.size_exact <= high
    assert any("the half-gain rule gives" in w for w in auto.warnings)
    paper = sizing._estimate(1, widths, relative, (), 0.005, "paper")
    assert paper.rule == "paper" and paper.size == round(paper.paper_size)
    assert paper.size_exact == pytest.approx(auto.paper_size)
    # a threshold ten times larger moves the paper's number tenfold; the half-gain width does not move
    assert sizing._estimate(1, widths, relative, (), 0.05).size == auto.size
    assert sizing._estimate(1, widths, relative, (), 0.05, "paper").size_exact == pytest.approx(20, rel=0.05)


def test_gain_rule_that_never_halves_is_a_stated_lower_bound():
    widths = (8, 16, 32, 64)
    relative = np.tile([0.8, 0.79, 0.78, 0.77], (2, 1))
    estimate = sizing._estimate(1, widths, relative, (), 0.005, "gain")
    assert estimate.rule == "gain" and estimate.gain_status == "above" and estimate.size == 64
    assert "lower bound" in estimate.confidence and any("lower bound" in w for w in estimate.warnings)


def test_rule_is_checked_and_reported_in_json_and_table(digits):
    with pytest.raises(OptionError, match="rule must be one of"):
        near.estimate_layer_sizes(digits, 1, widths=SMALL, rule="knee")
    result = near.estimate_layer_sizes(digits, 1, widths=SMALL, repetitions=3, seed=0, rule="gain", warn=False)
    layer = result.to_dict()["layers"][0]
    assert result.to_dict()["rule"] == "gain" and layer["rule"] == "gain"
    assert layer["size"] == round(layer["gain_size"]) and len(layer["interval"]) == 2
    assert {"paper_size", "paper_degenerate", "gain_status", "gains", "confidence"} <= set(layer)
    assert "by the half-gain rule" in result.table() and "paper's rule: s* =" in result.table()
