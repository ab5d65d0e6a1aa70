"""The registry: what the server holds, and the catalog the distributed mode's web
processes hold instead (the models listed with their G, no search; the workers' costs)."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from app.engine.completion import estimate_seconds
from app.engine.params import CompletionParams
from app.engine.schedule import SearchCost
from app.web.registry import Registry


@pytest.fixture(scope="module")
def catalog(tiny_models):
    return Registry(tiny_models[0], engines=False)


def test_a_catalog_lists_the_models_the_server_loads_with_g_alone(catalog, tiny_registry):
    assert catalog.names() == tiny_registry.names() == ["tiny", "tiny-gray"]
    for name in catalog.names():
        entry, loaded = catalog.get(name), tiny_registry.get(name)
        assert entry.model.summary() == loaded.model.summary()
        assert entry.samples == loaded.samples
        assert entry.model.discriminate is None and entry.model.encode is None
        assert entry.completer is None and entry.projector is None
        z = tf.random.uniform([2, entry.model.latent_dim], -1, 1)
        np.testing.assert_allclose(entry.model.generate(z)[0].numpy(), loaded.model.generate(z)[0].numpy(),
                                   atol=1e-6)
    assert not catalog.warm_up and catalog.costs() == {}, "a catalog times nothing, so it publishes nothing"


def test_a_catalog_estimates_a_completion_as_the_server_does_once_it_has_the_same_costs(tiny_models, tiny_registry):
    catalog = Registry(tiny_models[0], engines=False)
    for params in (CompletionParams(), CompletionParams(steps=300, restarts=16, refine_steps=0),
                   CompletionParams(steps=40, restarts=2, early_stop=False)):
        assert catalog.get("tiny").complete_seconds(params) != pytest.approx(
            tiny_registry.get("tiny").complete_seconds(params)), "before: the schedule's guess"
    catalog.use_costs(tiny_registry.costs())
    for params in (CompletionParams(), CompletionParams(steps=300, restarts=16, refine_steps=0)):
        assert catalog.get("tiny").complete_seconds(params) == pytest.approx(
            tiny_registry.get("tiny").complete_seconds(params))


def test_published_costs_reach_the_lab_built_later_and_malformed_ones_are_ignored(tiny_models):
    catalog = Registry(tiny_models[0], engines=False)
    guess = catalog.get("tiny").cost
    catalog.use_costs({"complete:tiny": {"fixed": -1.0, "per_candidate": 0.1},       # negative
                       "complete:tiny-gray": {"fixed": 0.5},                          # a field missing
                       "dream:random": {"fixed": 0.25, "per_pixel": 1e-6},
                       "style:random": "slow"})
    assert catalog.get("tiny").cost == guess and catalog.get("tiny-gray").cost == guess
    lab = catalog.lab("random")
    assert lab.dreamer.cost.fixed == 0.25 and lab.dreamer.cost.per_pixel == 1e-6
    assert lab.stylist.cost.fixed != 0.25


def test_a_g_that_cannot_be_split_is_estimated_without_the_second_stage(catalog):
    model = catalog.get("tiny").model
    assert model.split is not None
    unsplit = dataclasses.replace(model, split=None)
    cost = SearchCost(fixed=0.01, per_candidate=0.001)
    plain, refined = CompletionParams(refine_steps=0), CompletionParams(refine_steps=40)
    assert estimate_seconds(model, refined, cost) == pytest.approx(estimate_seconds(model, plain, cost) + 40 * 0.011)
    assert estimate_seconds(unsplit, refined, cost) == pytest.approx(estimate_seconds(unsplit, plain, cost))
