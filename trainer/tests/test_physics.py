"""The physics prior and the combiner's right to say "physics only"."""

import numpy as np
import pytest

from reefguard_trainer import baselines
from reefguard_trainer.ensemble import (
    OutOfFoldSet,
    fit_combiner,
    mean_event_auroc,
    predict_ensemble,
)


def logistic_rows(seed: int, slope: float, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dhw = rng.gamma(2.0, 2.0, n)
    p = 1 / (1 + np.exp(-(-2.0 + slope * dhw)))
    return dhw, (rng.uniform(size=n) < p).astype(np.int64)


def test_prior_is_the_maximum_likelihood_dhw_logistic_when_heat_raises_risk() -> None:
    dhw, y = logistic_rows(1, 0.6)
    prior = baselines.fit_physics_prior(dhw, y)
    assert not prior.slope_floored
    assert prior.slope == pytest.approx(0.6, abs=0.08)
    assert prior.intercept == pytest.approx(-2.0, abs=0.2)


def test_prior_slope_is_floored_when_training_years_say_heat_lowers_risk() -> None:
    dhw, y = logistic_rows(2, -0.4)
    prior = baselines.fit_physics_prior(dhw, y)
    assert prior.slope_floored and prior.slope == baselines.MIN_PRIOR_SLOPE
    # the intercept is re-fitted for the fixed slope: mean predicted rate = observed rate
    p = 1 / (1 + np.exp(-baselines.prior_margin(prior, dhw).astype(np.float64)))
    assert p.mean() == pytest.approx(y.mean(), abs=1e-4)


def test_prior_counts_unknown_dhw_as_no_stress_and_rejects_one_class_rows() -> None:
    prior = baselines.PhysicsPrior(-1.0, 0.5)
    margin = baselines.prior_margin(prior, np.array([np.nan, 0.0, 2.0]))
    np.testing.assert_allclose(margin, [-1.0, -1.0, 0.0])
    with pytest.raises(ValueError, match="both classes"):
        baselines.fit_physics_prior(np.array([1.0, 2.0]), np.array([0, 0]))


def two_events(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two events; risk = DHW + a site factor the physics does not see."""
    rng = np.random.default_rng(seed)
    n = 3000
    dhw = rng.gamma(2.0, 2.0, n)
    site = rng.normal(0, 1, n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-3 + 0.4 * dhw + 1.5 * site)))).astype(int)
    groups = np.where(np.arange(n) < n // 2, "a", "b")
    return dhw, site, y, groups


def test_combiner_says_physics_only_when_the_learned_members_are_noise() -> None:
    dhw, _, y, groups = two_events(3)
    prior = -3 + 0.4 * dhw
    rng = np.random.default_rng(4)
    noise_tree = 1 / (1 + np.exp(-rng.normal(0, 2, len(y))))
    noise_vit = rng.normal(0, 2, len(y)).astype(np.float32)
    combiner = fit_combiner(prior, noise_tree, noise_vit, y, groups)
    assert combiner.physics_only
    assert (combiner.xgb_weight, combiner.vit_weight) == (0.0, 0.0)
    # physics only, calibrated: the prior's ranking, not a flat base rate
    risk = predict_ensemble(combiner, prior, noise_tree, noise_vit)
    assert mean_event_auroc(risk, y, groups) == pytest.approx(
        mean_event_auroc(prior, y, groups), abs=1e-6
    )
    assert combiner.slope > 0.5
    assert risk.std() > 0.05


def test_combiner_takes_a_member_that_adds_skill_and_stays_calibrated() -> None:
    dhw, site, y, groups = two_events(5)
    prior = -3 + 0.4 * dhw
    tree = 1 / (1 + np.exp(-1.5 * site))  # the residual the physics misses
    vit = np.zeros(len(y), np.float32)
    combiner = fit_combiner(prior, tree, vit, y, groups)
    assert not combiner.physics_only
    assert combiner.xgb_weight >= 0.5 and combiner.vit_weight == 0.0
    risk = predict_ensemble(combiner, prior, tree, vit)
    assert mean_event_auroc(risk, y, groups) > mean_event_auroc(prior, y, groups) + 0.05
    # reliability: in each predicted-risk quintile the observed rate is close to the mean risk
    edges = np.quantile(risk, np.linspace(0, 1, 6))
    which = np.clip(np.searchsorted(edges, risk, side="right") - 1, 0, 4)
    for q in range(5):
        assert abs(risk[which == q].mean() - y[which == q].mean()) < 0.06


def test_combiner_keeps_the_physics_when_the_member_loses_one_spatial_block() -> None:
    """The member gains on both events, but on one block of a stricter (event x block) check
    it ranks against the physics: a new place where heat stress explains the bleaching."""
    dhw, site, y, groups = two_events(5)
    prior = -3 + 0.4 * dhw
    tree = 1 / (1 + np.exp(-1.5 * site))
    vit = np.zeros(len(y), np.float32)
    assert not fit_combiner(prior, tree, vit, y, groups).physics_only  # alone it would gain
    blocks = np.where(np.arange(len(y)) % 3 == 0, "a/block0", "a/block1")
    blocks[groups == "b"] = "b/block0"
    # on a/block0 the member's out-of-fold residual is the opposite of the truth
    flipped = np.where(blocks == "a/block0", 1 - tree, tree)
    check = OutOfFoldSet(prior, flipped, vit, y, blocks)
    combiner = fit_combiner(prior, tree, vit, y, groups, (check,))
    assert combiner.physics_only
    assert (combiner.xgb_weight, combiner.vit_weight) == (0.0, 0.0)
    # the same check with the member right everywhere lets it in
    honest = OutOfFoldSet(prior, tree, vit, y, blocks)
    assert not fit_combiner(prior, tree, vit, y, groups, (honest,)).physics_only


def test_card_names_the_unit_each_learned_member_loses_most() -> None:
    from reefguard_trainer.train import worst_units

    evidence = [
        {"member": "xgboost", "weight": 0.3, "events": {"a": 0.1}, "event_x_block": {"a/b0": -0.2}},
        {"member": "vit", "weight": 1.0, "events": {"a": -0.05, "b": 0.3}},
    ]
    assert worst_units(evidence) == "xgboost at w 0.3: -0.200 on a/b0; vit at w 1: -0.050 on a"


def test_calibration_never_flattens_risk_to_one_value_when_labels_ignore_heat() -> None:
    """A model from an earlier trainer scored every GCBD survey 0.1754: its Platt slope had
    collapsed to 1e-6 on rows whose labels did not follow its margin. Calibration now keeps a
    floor, so risk still ranks by DHW and spreads over more than the noise of float32."""
    rng = np.random.default_rng(6)
    n = 4000
    dhw = rng.gamma(2.0, 2.0, n)
    y = (rng.uniform(size=n) < 0.15).astype(int)  # bleaching independent of heat stress
    groups = np.where(np.arange(n) < n // 2, "a", "b")
    prior = baselines.prior_margin(baselines.PhysicsPrior(-1.8, 0.15), dhw)
    zeros = np.zeros(n, np.float32)
    combiner = fit_combiner(prior, np.full(n, 0.5), zeros, y, groups)
    assert combiner.physics_only
    assert combiner.slope >= 0.05
    risk = predict_ensemble(combiner, prior, np.full(n, 0.5), zeros)
    assert float(risk.max() - risk.min()) > 0.01
    order = np.argsort(dhw)
    assert np.all(np.diff(risk[order]) >= 0)  # more heat never lowers risk
