"""The models the server holds: loaded once at start, warmed up, with their samples.

A registry built with engines=False is a catalog: the manifests, the samples and G
(the instant latent requests, a batch of G each, are answered where they arrive), with
no encoder or search, and nothing traced or timed. The distributed mode's web processes
use one, since their jobs run on workers; they estimate jobs with the costs the workers
measured (`Registry.costs`, published through the roster of workers, `app.web.roster`,
applied with `use_costs`). The Lab's feature networks (a D each) are still built here on first use
(the page lists their layers, and requests are checked against them)."""
import dataclasses
import logging
import os
import re

import tensorflow as tf

from app.engine import imageio
from app.engine.completion import Completer, estimate_seconds
from app.engine.dream import Dreamer
from app.engine.driver import StepCost
from app.engine.features import discriminator_features, random_features
from app.engine.latent import Projector
from app.engine.manifest import check_name
from app.engine.model import list_models, load_model
from app.engine.schedule import SearchCost
from app.engine.style import Stylist

log = logging.getLogger(__name__)
SAMPLE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclasses.dataclass
class Entry:
    model: object              # model.GanModel (G only in a catalog)
    completer: Completer | None   # None in a catalog
    samples: dict           # sample id -> absolute path of the PNG
    # Seconds a search step takes: timed at warm-up (or by the workers), else the schedule's guess.
    cost: SearchCost = dataclasses.field(default_factory=SearchCost)
    projector: object = None   # latent.Projector: a picture onto this model's latent space

    def complete_seconds(self, params):
        """The most seconds a completion with these `CompletionParams` takes at `cost`."""
        return estimate_seconds(self.model, params, self.cost)

    def sample_image(self, sample_id):
        """(H, W, C) uint8 of a sample; KeyError if the id is not one of the model's."""
        if not isinstance(sample_id, str) or not SAMPLE_ID_RE.match(sample_id):
            raise KeyError(sample_id)
        return imageio.read(self.samples[sample_id], self.model.image_shape[-1])


@dataclasses.dataclass
class LabEntry:
    """A feature network and the Lab's two uses of it."""

    net: object             # features.FeatureNet
    dreamer: Dreamer
    stylist: Stylist
    layers: dict            # layer name -> its channel count, shallowest first


def lab_entry(net):
    """Its costs are engine.driver.StepCost's guess until `Registry.calibrate_labs`."""
    return LabEntry(net, Dreamer(net), Stylist(net), {name: shape[-1] for name, shape in net.layer_sizes()})


class Registry:
    def __init__(self, models_dir, warm_up=True, engines=True):
        """Load every model of models_dir; warm_up traces and times each search at once;
        engines=False builds a catalog (see the module's docstring)."""
        self.models_dir = os.path.abspath(models_dir)
        self.entries = {}
        self.warm_up = warm_up and engines
        self._labs = {}
        self._labs_failed = set()     # specs whose network could not be built: not offered
        self._published = {}          # costs from `use_costs`, for Lab networks not yet built
        for name in list_models(self.models_dir):
            try:
                model = load_model(self.models_dir, name, generator_only=not engines)
            except (ValueError, OSError) as exc:
                log.error("skipping model %s: %s", name, exc)
                continue
            if not engines:
                self.entries[name] = Entry(model, None, self._samples(model))
                log.info("listed model %s %s (G only: its jobs run on workers)", name, model.image_shape)
                continue
            completer = Completer(model)
            entry = Entry(model, completer, self._samples(model), projector=Projector(model))
            if self.warm_up:
                completer.warm_up()
                entry.cost = completer.calibrate()
            self.entries[name] = entry
            log.info("loaded model %s %s (a search step: %.2f ms + %.2f ms per candidate)", name, model.image_shape,
                     1000 * entry.cost.fixed, 1000 * entry.cost.per_candidate)

    def _samples(self, model):
        folder = os.path.join(model.folder, "samples")
        samples = {}
        for filename in model.manifest.samples:
            sample_id, ext = os.path.splitext(filename)
            path = os.path.join(folder, filename)
            if ext == ".png" and SAMPLE_ID_RE.match(sample_id) and os.path.isfile(path):
                samples[sample_id] = path
        return samples

    def get(self, name):
        """The entry for a model name; KeyError if unknown, ValueError if malformed."""
        check_name(name)
        return self.entries[name]

    def names(self):
        return sorted(self.entries)

    # -- the Lab's feature networks: built on first use ------------------------------

    def feature_specs(self):
        """"random", then "d:NAME" for every model served whose D can serve as one."""
        specs = ["random"] + [f"d:{name}" for name in self.names()]
        return [s for s in specs if s not in self._labs_failed]

    def lab(self, spec):
        """The LabEntry of a feature spec from `feature_specs`, built on first use (a graph
        import: call it off the socket loop). KeyError for an unknown spec or one whose
        network cannot be built (logged once, then no longer offered)."""
        if spec not in self.feature_specs():
            raise KeyError(spec)
        # No lock: it runs on worker threads, where eventlet's patched locks do not belong,
        # and two threads building the same network at once only do the work twice.
        if spec not in self._labs:
            try:
                net = random_features() if spec == "random" else discriminator_features(self.models_dir, spec[2:])
                entry = self._labs.setdefault(spec, lab_entry(net))
                self._apply_lab_costs(spec, entry)
            except (ValueError, OSError, tf.errors.OpError) as exc:
                log.error("the Lab cannot use %s: %s", spec, exc)
                self._labs_failed.add(spec)
                raise KeyError(spec) from None
        return self._labs[spec]

    def feature_layers(self, spec):
        """{layer: channels} of a feature spec."""
        return self.lab(spec).layers

    def calibrate_labs(self):
        """Build every Lab network and time its dream and style steps (tens of seconds
        on 2 cores): the server runs this in the background after it starts, so neither
        start-up nor the page waits; until then job costs are StepCost's guess."""
        for spec in self.feature_specs():
            try:
                entry = self.lab(spec)
            except KeyError:
                continue
            entry.dreamer.calibrate()
            entry.stylist.calibrate()
            log.info("timed the Lab's %s: dream %s, style %s", spec, entry.dreamer.cost, entry.stylist.cost)

    # -- costs measured elsewhere (the distributed mode) ---------------------------

    def costs(self):
        """{key: {field: seconds}} of what this registry has timed: "complete:NAME" (a
        `SearchCost`), "dream:SPEC" and "style:SPEC" (`StepCost`s); empty without warm-up,
        whose figures are guesses."""
        if not self.warm_up:
            return {}
        table = {f"complete:{name}": dataclasses.asdict(e.cost) for name, e in self.entries.items()}
        for spec, lab in self._labs.items():
            table[f"dream:{spec}"] = dataclasses.asdict(lab.dreamer.cost)
            table[f"style:{spec}"] = dataclasses.asdict(lab.stylist.cost)
        return table

    def use_costs(self, table):
        """Estimate jobs with these measured costs (a `costs()` table, e.g. the workers'
        through `roster.Roster.costs`); keys this registry does not hold are kept
        for a Lab network built later, and malformed entries are ignored."""
        self._published = dict(table)
        for name, entry in self.entries.items():
            cost = _cost(SearchCost, table.get(f"complete:{name}"))
            if cost is not None:
                entry.cost = cost
        for spec, lab in list(self._labs.items()):   # lab() may add one on another thread
            self._apply_lab_costs(spec, lab)

    def _apply_lab_costs(self, spec, lab):
        for kind, user in (("dream", lab.dreamer), ("style", lab.stylist)):
            cost = _cost(StepCost, self._published.get(f"{kind}:{spec}"))
            if cost is not None:
                user.cost = cost


def _cost(kind, fields):
    """kind(**fields) if they are its fields as non-negative numbers, else None."""
    names = {f.name for f in dataclasses.fields(kind)}
    if not isinstance(fields, dict) or set(fields) != names:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in fields.values()):
        return None
    return kind(**{k: float(v) for k, v in fields.items()})
