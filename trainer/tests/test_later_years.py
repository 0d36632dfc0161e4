"""The label-free later-year check: every GBR pixel of 2016 through the real export, and the
rank agreement measures on cases whose answer is known."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reefguard_trainer import later_years
from reefguard_trainer.plots import plot_rank_agreement as later_years_plot
from reefguard_trainer.train import REPO_ROOT, SAMPLE_DATA_DIR

DHW = "dhw_max_ytd"


def test_inverted_pair_share_counts_pairs_ordered_against_dhw() -> None:
    dhw = np.arange(1000, dtype=np.float64)
    assert later_years.inverted_pair_share(dhw * 2 + 1, dhw) == 0.0
    assert later_years.inverted_pair_share(-dhw, dhw) == 1.0
    # a flat risk orders no pair the way DHW does: every pair counts as not kept
    assert later_years.inverted_pair_share(np.zeros(1000), dhw) == 1.0
    # swapping the top half against the bottom half inverts ~half of all pairs
    swapped = np.concatenate([dhw[500:], dhw[:500]])
    assert later_years.inverted_pair_share(swapped, dhw) == pytest.approx(0.5, abs=0.01)


def test_rank_agreement_ignores_pixels_without_dhw() -> None:
    dhw = np.array([0.0, 1.0, 2.0, np.nan, 4.0])
    risk = np.array([0.1, 0.2, 0.3, 0.9, 0.5])
    agreement = later_years.rank_agreement(risk, dhw)
    assert agreement["pixels"] == 4
    assert agreement["spearman"] == pytest.approx(1.0)
    assert agreement["kendall_tau_b"] == pytest.approx(1.0)


def test_a_year_the_products_do_not_cover_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no annual maximum DHW for \[2019\].*1985-2017"):
        later_years.write_pixel_observations(SAMPLE_DATA_DIR, (2016, 2019), tmp_path / "p.csv")


def test_every_gbr_pixel_of_2016_gets_the_2016_products(tmp_path: Path) -> None:
    pixels = later_years.export_pixel_features(REPO_ROOT, SAMPLE_DATA_DIR, (2016,), tmp_path)
    table = pd.read_parquet(SAMPLE_DATA_DIR / later_years.DHW_TABLE)
    rows = pixels.rows
    assert len(later_years.year_rows(pixels, 2016)) == len(table)
    expected = table.set_index("PIXEL_ID")["annMaxDHW_2016"]
    got = rows.set_index(rows["site_id"].str.removeprefix("pixel-").astype(int))[DHW]
    np.testing.assert_allclose(got.sort_index().to_numpy(), expected.sort_index().to_numpy())

    features = [DHW, "sst_clim_range"]
    scorers: dict[str, later_years.Scorer] = {
        "follows DHW": lambda x, _chips: 1 / (1 + np.exp(-(x[:, 0] - 4))),
        "climate only": lambda x, _chips: x[:, 1],
    }
    table_2016, points = later_years.later_year_agreement(pixels, features, scorers, (2016,))
    (entry,) = table_2016
    assert entry["year"] == 2016
    assert entry["follows DHW"]["spearman"] == pytest.approx(1.0)
    assert entry["follows DHW"]["inverted_pair_share"] == 0.0
    assert entry["climate only"]["spearman"] < 0.9
    assert entry["climate only"]["inverted_pair_share"] > 0.05
    dhw, risks = points[2016]
    assert len(dhw) == len(risks["follows DHW"]) == len(risks["climate only"]) == len(table)
    plot = later_years_plot(points, table_2016, tmp_path / "plot.png")
    assert plot.stat().st_size > 1000
