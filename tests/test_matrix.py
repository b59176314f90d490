import torch

from near.matrix import layout_of, square_block


def starts_seen(output, channels_first, draws=400):
    layout = layout_of(output, channels_first)
    rows = output[: layout.samples_needed]
    rows = (rows.transpose(1, -1) if channels_first else rows).reshape(-1, layout.neurons)
    generator = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(draws):
        block = square_block(output, layout, generator)
        assert block.shape == (layout.neurons, layout.neurons)
        matches = [s for s in range(len(rows) - layout.neurons + 1) if torch.equal(rows[s : s + layout.neurons], block)]
        assert len(matches) == 1
        seen.add(matches[0])
    return layout, seen


def test_conv_block_starts_at_every_map_row_where_it_fits():
    layout, seen = starts_seen(torch.randn(3, 8, 4, 4), channels_first=True)
    assert (layout.neurons, layout.rows_per_sample, layout.start_unit, layout.samples_needed) == (8, 16, 4, 1)
    assert seen == {0, 4, 8}


def test_block_never_runs_past_the_end_where_the_authors_start_rule_would():
    # 8x8 map, 64 channels: the authors' rule allows starts up to 48 and then cuts the block short.
    layout, seen = starts_seen(torch.randn(2, 64, 8, 8), channels_first=True, draws=20)
    assert seen == {0}


def test_block_never_starts_on_the_last_map_row_as_in_the_authors_code():
    # 8x8 map, 3 channels: the authors draw randint(0, 64 // 8 - 1) (exclusive) -> starts 0..48, never 56.
    _, seen = starts_seen(torch.randn(1, 3, 8, 8), channels_first=True)
    assert seen == {0, 8, 16, 24, 32, 40, 48}


def test_channels_last_maps_have_neurons_last_and_blocks_start_on_a_map_row():
    layout, seen = starts_seen(torch.randn(2, 4, 5, 6), channels_first=False)  # NHWC: 4 rows of 5, 6 channels
    assert (layout.neurons, layout.rows_per_sample, layout.start_unit) == (6, 20, 5)
    assert seen == {0, 5, 10}


def test_small_maps_take_rows_from_the_next_samples():
    layout, seen = starts_seen(torch.randn(5, 20, 3, 3), channels_first=True)
    assert layout.samples_needed == 3  # 20 channels over 9 positions per sample
    assert seen == {0, 3, 6}  # 27 rows: starts that are multiples of 3 with 20 rows left


def test_sequences_start_at_any_position_and_fully_connected_layers_use_the_first_samples():
    _, seen = starts_seen(torch.randn(2, 10, 6), channels_first=False)
    assert seen == {0, 1, 2, 3, 4}
    output = torch.randn(7, 5)
    assert torch.equal(square_block(output, layout_of(output, False), None), output[:5])


def test_the_block_is_a_copy_not_a_view():
    output = torch.randn(4, 3)
    block = square_block(output, layout_of(output, False), None)
    output.zero_()
    assert block.abs().sum() > 0


def test_the_block_does_not_depend_on_the_memory_layout():
    for shape in [(2, 16, 32, 32), (2, 64, 8, 8), (3, 20, 3, 3), (2, 3, 6, 5)]:
        output = torch.randn(shape)
        layout = layout_of(output, channels_first=True)
        channels_last = output.contiguous(memory_format=torch.channels_last)
        for seed in range(5):
            a = square_block(output, layout, torch.Generator().manual_seed(seed))
            b = square_block(channels_last, layout, torch.Generator().manual_seed(seed))
            assert torch.equal(a, b) and b.is_contiguous()
