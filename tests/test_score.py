"""NEAR scores of MLPs, CNNs and transformer blocks: values, layer capture, seeds, model safety."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import near
from reference import reference_near


def mlp(widths=(20, 30, 25, 5), act=nn.ReLU):
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def deterministic(model, inputs, **options):
    return near.score(model, inputs, shuffle=False, reinit=False, repetitions=1, seed=0, **options)


# -- the deterministic contract: equal to the authors' algorithm fed one sample at a time ------------------


@pytest.mark.parametrize("act", [nn.ReLU, nn.Tanh, nn.SiLU, nn.Tanhshrink, nn.GELU])
def test_mlp_equals_the_authors_algorithm_sample_by_sample(act):
    torch.manual_seed(1)
    model, x = mlp((20, 40, 30, 10), act), torch.randn(60, 20)
    expected = reference_near(model, x, np.random.default_rng(0))
    assert float(deterministic(model, x)) == pytest.approx(expected, rel=1e-5)


def test_mlp_with_layernorm_equals_the_authors_algorithm():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(12, 24), nn.LayerNorm(24), nn.SiLU(), nn.Linear(24, 6))
    x = torch.randn(30, 12)
    result = deterministic(model, x)
    assert [layer.name for layer in result.layers] == ["0", "1", "2", "3"]
    assert float(result) == pytest.approx(reference_near(model, x, np.random.default_rng(0)), rel=1e-5)


def test_each_fully_connected_layer_uses_exactly_its_first_n_samples():
    torch.manual_seed(3)
    model, x = mlp((8, 16, 4)), torch.randn(50, 8)
    result = deterministic(model, x)
    with torch.no_grad():
        z1 = model[0](x[:16])
        h1 = model[1](z1)
        z2 = model[2](model[1](model[0](x[:4])))
    expected = [near.effective_rank(z1), near.effective_rank(h1), near.effective_rank(z2)]
    # NEAR takes the singular values from Gram eigenvalues: z1 has rank 9 of 16, and its zero singular
    # values come out as noise of 1e-8 of the largest (see near.rank.gram_effective_ranks)
    assert [layer.erank for layer in result.layers] == pytest.approx(expected, rel=1e-8)
    assert [layer.size for layer in result.layers] == [16, 16, 4]
    assert result.batch_size == 16


def test_cnn_mean_agrees_with_the_authors_algorithm_over_many_draws():
    """Fixed weights, fixed first sample: only the conv block start is random in both implementations."""
    torch.manual_seed(42)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3), nn.ReLU(), nn.Conv2d(6, 12, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(12 * 6 * 6, 20), nn.SiLU(), nn.Linear(20, 5),
    )  # fmt: skip
    x = torch.rand(40, 3, 10, 10)
    draws = 300
    rng = np.random.default_rng(0)
    reference = np.array([reference_near(model, x, rng) for _ in range(draws)])
    ours = near.score(model, x, shuffle=False, reinit=False, repetitions=draws, seed=0).scores
    assert ours.std() > 0  # the block start really is random
    standard_error = np.sqrt(reference.var(ddof=1) / draws + ours.var(ddof=1) / draws)
    assert abs(ours.mean() - reference.mean()) < 4 * standard_error


def test_batchnorm_sample_mode_equals_feeding_one_sample_at_a_time():
    # 4 channels on a 2x2 map: every conv block is the whole map, so both sides are deterministic.
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(16, 6))
    x = torch.randn(20, 3, 5, 5)
    expected = reference_near(model.train(), x, np.random.default_rng(0))
    assert float(deterministic(model, x, batchnorm="sample")) == pytest.approx(expected, rel=1e-5)
    assert float(deterministic(model, x, batchnorm="batch")) != pytest.approx(expected, rel=1e-3)


def test_batchnorm_batch_mode_never_normalises_a_single_sample():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())  # one sample would do
    assert near.score(model, torch.randn(10, 3, 8, 8), seed=0).batch_size == 2
    assert near.score(model, torch.randn(10, 3, 8, 8), seed=0, batchnorm="sample").batch_size == 1
    assert near.score(model, torch.randn(1, 3, 8, 8), seed=0).batch_size == 1  # all there is


# -- what is scored -----------------------------------------------------------------------------------------


def test_cnn_layers_channels_are_neurons_and_batch_is_minimal():
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )  # fmt: skip
    result = near.score(model, torch.randn(30, 3, 16, 16), repetitions=3, seed=0)
    assert [(layer.name, layer.kind, layer.size) for layer in result.layers] == [
        ("0", "pre", 16), ("1", "pre", 16), ("2", "post", 16), ("3", "pre", 32), ("4", "post", 32), ("7", "pre", 10),
    ]  # fmt: skip
    assert result.batch_size == 10  # the classifier's 10 neurons; every conv map fits in one sample
    assert all(1 <= layer.erank <= layer.size for layer in result.layers)
    assert float(result) == pytest.approx(sum(layer.erank for layer in result.layers))


def test_conv1d_signal_model_uses_channels_as_neurons():
    model = nn.Sequential(nn.Conv1d(2, 8, 5), nn.ReLU(), nn.Conv1d(8, 16, 5), nn.Tanh())
    result = near.score(model, torch.randn(10, 2, 12), seed=0)
    assert [(layer.name, layer.size) for layer in result.layers] == [("0", 8), ("1", 8), ("2", 16), ("3", 16)]
    assert result.batch_size == 4  # 16 channels over 4 positions per sample


class FunctionalBlock(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, 32), nn.Linear(32, d)

    def forward(self, x):
        return self.fc2(torch.tanh(F.gelu(self.fc1(x)))).relu()


def test_functional_activations_are_captured_and_named():
    result = near.score(FunctionalBlock(), torch.randn(40, 16), seed=0)
    assert [(layer.name, layer.kind, layer.source) for layer in result.layers] == [
        ("fc1", "pre", "module"), ("gelu()", "post", "function"), ("tanh()", "post", "function"),
        ("fc2", "pre", "module"), ("relu()", "post", "function"),
    ]  # fmt: skip
    without = near.score(FunctionalBlock(), torch.randn(40, 16), seed=0, functional=False)
    assert [layer.name for layer in without.layers] == ["fc1", "fc2"]


def test_activation_modules_are_not_double_counted_by_the_function_capture():
    result = near.score(mlp((8, 16, 16, 4), nn.SiLU), torch.randn(30, 8), seed=0)
    assert [layer.name for layer in result.layers] == ["0", "1", "2", "3", "4"]


class STanh(nn.Module):
    def forward(self, x):
        return 1.59223 * torch.tanh(x)


class Scale(nn.Module):
    def forward(self, x):
        return 2 * x


def test_custom_activation_module_counts_once_and_plain_custom_modules_not_at_all():
    model = nn.Sequential(nn.Linear(8, 16), STanh(), Scale(), nn.Linear(16, 4))
    result = near.score(model, torch.randn(30, 8), seed=0)
    assert [(layer.name, layer.kind) for layer in result.layers] == [("0", "pre"), ("1", "post"), ("3", "pre")]


def test_user_listed_activation_classes_are_scored():
    model = nn.Sequential(nn.Linear(8, 16), Scale(), nn.Linear(16, 4))
    result = near.score(model, torch.randn(30, 8), seed=0, activations=[Scale])
    assert [(layer.name, layer.kind) for layer in result.layers] == [("0", "pre"), ("1", "post"), ("2", "pre")]


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.act = nn.Linear(8, 12), nn.Linear(12, 6), nn.ReLU()
        self.unused = nn.Linear(3, 3)

    def forward(self, x):
        return self.act(self.fc2(self.act(self.fc1(x))))


def test_shared_modules_score_every_call_and_unused_modules_are_reported():
    result = near.score(Shared(), torch.randn(20, 8), seed=0)
    assert [(layer.name, layer.size) for layer in result.layers] == [("fc1", 12), ("act", 12), ("fc2", 6), ("act#2", 6)]
    assert result.skipped == {"unused": "never called"}


def test_layer_selection_patterns():
    x = torch.randn(40, 16)
    only_pre = near.score(FunctionalBlock(), x, seed=0, layers=["fc*"])
    assert [layer.name for layer in only_pre.layers] == ["fc1", "fc2"]
    no_functions = near.score(FunctionalBlock(), x, seed=0, exclude="*()")
    assert [layer.name for layer in no_functions.layers] == ["fc1", "fc2"]
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4))
    assert [layer.name for layer in near.score(model, torch.randn(30, 8), seed=0, norm_layers=False).layers] == [
        "0", "2", "3",
    ]  # fmt: skip


class TransformerBlock(nn.Module):
    def __init__(self, d=32):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
        self.norm = nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, 64), nn.Linear(64, d)

    def forward(self, x):
        x = x + self.attn(x, x, x)[0]
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


def test_transformer_block_sequence_outputs_have_neurons_on_the_last_axis():
    result = near.score(nn.Sequential(TransformerBlock(), TransformerBlock()), torch.randn(20, 10, 32), seed=0)
    sizes = {layer.name: layer.size for layer in result.layers}
    assert sizes == {
        "0.attn": 32, "0.norm": 32, "0.fc1": 64, "0.gelu()": 64, "0.fc2": 32,
        "1.attn": 32, "1.norm": 32, "1.fc1": 64, "1.gelu()": 64, "1.fc2": 32,
    }  # fmt: skip
    assert result.batch_size == 7  # 64 neurons over 10 positions per sample
    assert {layer.kind for layer in result.layers if layer.name.endswith("attn")} == {"pre"}
    assert result.skipped == {}  # out_proj's weight is used inside attention: not a layer of its own


def test_pytorch_transformer_encoder_with_functional_relu():
    layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True, dropout=0.0)
    result = near.score(nn.TransformerEncoder(layer, 2, enable_nested_tensor=False), torch.randn(20, 8, 32), seed=0)
    names = [layer.name for layer in result.layers]
    assert "layers.0.relu()" in names and "layers.1.linear2" in names
    assert np.isfinite(float(result))


# -- inputs ---------------------------------------------------------------------------------------------------


def test_every_input_form_gives_the_same_deterministic_score():
    torch.manual_seed(0)
    model, x, y = mlp((8, 16, 4)), torch.randn(30, 8), torch.randint(0, 4, (30,))
    expected = float(deterministic(model, x))
    forms = [
        x.numpy(),
        TensorDataset(x, y),
        DataLoader(TensorDataset(x, y), batch_size=7),
        [(x[i : i + 5], y[i : i + 5]) for i in range(0, 30, 5)],
        (batch for batch in x.split(4)),
    ]
    for form in forms:
        assert float(deterministic(model, form)) == pytest.approx(expected, rel=1e-12), type(form)


def test_integer_inputs_reach_embedding_models_unchanged():
    model = nn.Sequential(nn.Embedding(50, 16), nn.Linear(16, 16), nn.ReLU())
    result = near.score(model, torch.randint(0, 50, (10, 6)), seed=0)
    assert [layer.size for layer in result.layers] == [16, 16, 16]


class FormatSpy(nn.Module):
    """A small CNN that appends to ``seen`` whether each input it gets is channels-last (NEAR scores a
    copy: a list's ``append`` is shared by copies); ``flat_view`` flattens its feature maps with
    ``.view``, which channels-last maps cannot take."""

    def __init__(self, seen, flat_view=False):
        super().__init__()
        self.note, self.flat_view = seen.append, flat_view
        self.conv, self.bn, self.fc = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Linear(8 * 6 * 6, 4)

    def forward(self, x):
        self.note(x.is_contiguous(memory_format=torch.channels_last))
        h = torch.relu(self.bn(self.conv(x)))
        return self.fc(h.view(len(h), -1) if self.flat_view else h.flatten(1))


def test_cnn_inputs_go_channels_last_on_the_cpu_with_the_same_score():
    x, seen = torch.randn(20, 3, 6, 6), []
    preserved = near.score(FormatSpy(seen), x, repetitions=3, seed=0, memory_format="preserve")
    assert len(seen) == 2 + 3 and not any(seen)  # two probe passes and one per repetition
    for memory_format in ("auto", "channels_last"):
        seen.clear()
        result = near.score(FormatSpy(seen), x, repetitions=3, seed=0, memory_format=memory_format)
        assert len(seen) == 5 and all(seen)
        assert result.scores == pytest.approx(preserved.scores, rel=1e-5)
        assert [layer.name for layer in result.layers] == [layer.name for layer in preserved.layers]
    assert x.is_contiguous()  # the caller's tensor is left as it was


def test_a_model_that_cannot_take_channels_last_inputs_gets_them_as_given():
    x, seen = torch.randn(20, 3, 6, 6), []
    result = near.score(FormatSpy(seen, flat_view=True), x, repetitions=2, seed=0)
    assert seen == [True, False, False, False, False]  # one failed probe pass, then every pass as given
    as_given = near.score(FormatSpy([], flat_view=True), x, repetitions=2, seed=0, memory_format="preserve")
    assert result.scores.tolist() == as_given.scores.tolist()
    with pytest.raises(near.errors.ModelError, match="view size is not compatible"):
        near.score(FormatSpy([], flat_view=True), x, seed=0, memory_format="channels_last")


def test_inputs_of_models_without_2d_convolutions_are_left_as_given():
    seen = []
    spy = FormatSpy(seen)
    spy.conv, spy.bn, spy.fc = nn.Identity(), nn.BatchNorm2d(3), nn.Linear(3 * 36, 4)
    near.score(spy, torch.randn(20, 3, 6, 6), seed=0)
    assert len(seen) == 3 and not any(seen)


# -- seeds, repetitions, initialisation ---------------------------------------------------------------------


def test_same_seed_same_result_and_repetitions_are_independent_streams():
    model, x = mlp((8, 32, 4)), torch.randn(100, 8)
    a = near.score(model, x, repetitions=3, seed=7)
    b = near.score(model, x, repetitions=3, seed=7)
    assert np.array_equal(a.scores, b.scores)
    assert len(set(a.scores)) == 3
    assert np.array_equal(near.score(model, x, repetitions=2, seed=7).scores, a.scores[:2])
    assert not np.array_equal(near.score(model, x, repetitions=3, seed=8).scores, a.scores)


def test_unseeded_runs_record_the_seed_that_reproduces_them():
    model, x = mlp((8, 32, 4)), torch.randn(100, 8)
    first = near.score(model, x, repetitions=2)
    assert np.array_equal(near.score(model, x, repetitions=2, seed=first.seed).scores, first.scores)


def test_global_random_state_is_untouched():
    model, x = mlp(), torch.randn(40, 20)
    state = torch.get_rng_state()
    near.score(model, x, repetitions=2, seed=0)
    near.score(mlp, x, repetitions=2, seed=0)
    assert torch.equal(state, torch.get_rng_state())


def test_factory_initialisation_is_respected():
    def constant_mlp():
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
        for module in (model[0], model[2]):
            nn.init.constant_(module.weight, 0.1)
            nn.init.zeros_(module.bias)
        return model

    result = near.score(constant_mlp, torch.randn(40, 8), repetitions=2, seed=0)
    assert [layer.erank for layer in result.layers] == pytest.approx([1.0, 1.0, 1.0], abs=1e-6)
    with pytest.warns(near.ReinitWarning, match=r"layers \['0', '2'\] are not initialised like PyTorch's default"):
        reset = near.score(constant_mlp(), torch.randn(40, 8), repetitions=2, seed=0)  # a module: reset per repetition
    assert reset.layers[0].erank > 3


def test_default_initialised_modules_are_not_warned_about():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 36, 300), nn.Linear(300, 5))
    assert near.inits.non_default_layers(model) == []
    nn.init.xavier_uniform_(model[3].weight)
    nn.init.orthogonal_(model[4].weight)  # within the default bound, but with the wrong spread
    assert near.inits.non_default_layers(model) == ["3", "4"]


def test_named_uniform_init_is_singled_out_as_bad():
    x = torch.rand(300, 30)  # non-negative, like pixels: U(0, 1) weights then give near rank-1 activations
    default = near.score(mlp((30, 100, 100, 10)), x, repetitions=2, seed=0)
    uniform = near.score(mlp((30, 100, 100, 10)), x, repetitions=2, seed=0, init="uniform")
    assert float(uniform) < 0.2 * float(default)


def test_reinit_false_keeps_weights_only_samples_change():
    model, x = mlp((8, 16, 4)), torch.randn(200, 8)
    same_samples = near.score(model, x, repetitions=3, reinit=False, shuffle=False, seed=0).scores
    assert np.ptp(same_samples) == 0
    assert np.ptp(near.score(model, x, repetitions=3, reinit=False, seed=0).scores) > 0


# -- the user's model is never modified ----------------------------------------------------------------------


@pytest.mark.parametrize("reinit", [True, False])
@pytest.mark.parametrize("batchnorm", ["batch", "sample", "running"])
def test_model_weights_buffers_and_mode_are_untouched(reinit, batchnorm):
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5), nn.Flatten(), nn.Linear(8 * 36, 5)
    )
    model[3].eval()  # mixed modes must survive too
    state = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    near.score(model, torch.randn(20, 3, 8, 8), repetitions=2, reinit=reinit, batchnorm=batchnorm, seed=0)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert [m.training for m in model.modules()] == modes
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


class RawWeight(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(8, 8))

    def forward(self, x):
        return x @ self.weight


def test_parameters_that_cannot_be_reinitialised_are_warned_about():
    model = nn.Sequential(RawWeight(), nn.ReLU(), nn.Linear(8, 4))
    with pytest.warns(near.ReinitWarning, match=r"\['0'\] have parameters but no reset_parameters"):
        result = near.score(model, torch.randn(20, 8), repetitions=2, seed=0)
    assert [layer.name for layer in result.layers] == ["0", "1", "2"]


def test_cnn_on_real_cifar10_images(shared_data):
    from near.data import load_data
    from near.models import cnn

    data = load_data(str(shared_data / "images" / "cifar10_960.npz"))
    result = near.score(lambda: cnn(data.input_shape, 10), data.x, repetitions=3, seed=0)
    assert result.batch_size == 10
    assert [layer.size for layer in result.layers] == [16, 16, 16, 32, 32, 32, 64, 64, 64, 10]
    assert all(1 < layer.erank < layer.size for layer in result.layers)
    assert 0 < result.std < 0.1 * float(result)


def test_a_factory_returning_an_existing_module_scores_a_copy_and_leaves_it_untouched():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    before = {key: value.clone() for key, value in net.state_dict().items()}
    x = torch.randn(64, 4)
    with pytest.warns(near.errors.ReinitWarning, match="factory returns the same module every time"):
        result = near.score(lambda: net, x, repetitions=2, seed=0, init="xavier_uniform")
    assert all(torch.equal(before[key], value) for key, value in net.state_dict().items())  # BN statistics too
    assert net.training and all(module.training for module in net.modules())
    single = near.score(lambda: net, x, repetitions=1, seed=0, init="xavier_uniform")  # one call: no warning
    assert single.scores[0] == result.scores[0]
    assert all(torch.equal(before[key], value) for key, value in net.state_dict().items())
