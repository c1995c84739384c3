"""The image knobs of the fast trainings: what each one changes in what is trained and scored.

Residual nets, convolutions per block, random crops after reflected padding, cutout,
Nesterov momentum, a moving average of the weights and test-time flips, on a small
image task (scikit-learn's 8x8 digits).
"""

import numpy as np
import pytest
import torch

from lgt_graph.space import space_for
from lgt_graph.tasks import TASKS, load_task_data
from lgt_graph.training import train
from lgt_graph.training.augment import Augment, augment
from lgt_graph.training.averaging import WeightAverage
from lgt_graph.training.epochs import make_optimizer, predict
from lgt_graph.training.nets import build_net
from lgt_graph.training.segments import NeuralRun, load_model

CNN = {"model": "cnn", "depth": 2, "channels": 8, "width": 32, "batch_norm": True, "epochs": 2}
RESNET = {"model": "resnet", "depth": 1, "stages": 2, "channels": 8, "epochs": 2}


@pytest.fixture(scope="module")
def digits():
    return load_task_data(TASKS["digits"], seed=0, max_train_samples=300)


@pytest.fixture(autouse=True)
def _one_thread():
    """One thread: the tests compare runs to the last bit, and float sums follow threads."""
    from lgt_graph.training import limit_threads

    limit_threads(1)
    yield
    limit_threads(None)


def config(**changes):
    space = space_for("image")
    return space.apply(space.default(), changes)


def transformed(x, spec, seed=0):
    """Transform a batch as one epoch of training would, with the epoch's draws."""
    g = torch.Generator().manual_seed(seed)
    return augment(x, spec, spec.draw(len(x), tuple(x.shape[1:]), g, x.device))


def test_flip_mirrors_crop_moves_within_its_padding_and_cutout_zeroes_a_square():
    x = torch.arange(1, 1 + 64 * 16, dtype=torch.float32).reshape(64, 1, 4, 4)
    flipped = transformed(x, Augment(flip=True))
    same = (flipped == x).flatten(1).all(1)
    mirrored = (flipped == x.flip(3)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 0 < int(mirrored.sum()) < 64
    # a crop of the reflected image: every pixel comes from the image itself (no zeros),
    # from at most `pad` rows and columns away
    image = torch.arange(1, 1 + 10 * 10, dtype=torch.float32).reshape(1, 1, 10, 10)
    crops = transformed(image.repeat(200, 1, 1, 1), Augment(pad=2))
    assert set(crops.unique().tolist()) <= set(image.unique().tolist())
    centre = crops[:, 0, 5, 5]  # pixel (5, 5) of the crop is pixel (5 + dy, 5 + dx) of the image
    dy, dx = ((centre - 1) // 10 - 5).long(), ((centre - 1) % 10 - 5).long()
    assert set(dy.tolist()) == set(dx.tolist()) == {-2, -1, 0, 1, 2}
    cut = transformed(torch.ones(100, 3, 8, 8), Augment(cutout=4))
    zeros = (cut == 0).all(1).flatten(1).sum(1)  # zeroed pixels, the same in every channel
    assert int(zeros.max()) == 16 and int(zeros.min()) > 0  # a 4x4 square, some overhanging
    assert bool(((cut == 0) | (cut == 1)).all())
    # a batch takes its slice of the epoch's draws: the same images as in one whole batch
    spec = Augment(True, 2, 3)
    draws = spec.draw(64, (1, 4, 4), torch.Generator().manual_seed(1), x.device)
    halves = [augment(x[a:b], spec, draws.take(a, b)) for a, b in ((0, 40), (40, 64))]
    assert torch.equal(torch.cat(halves), augment(x, spec, draws))
    assert not Augment.of(config()) and Augment.of(config(augmentation="shift")).pad == 2
    assert Augment.of(config(augmentation="flip_shift", crop_padding=4, cutout=8)) == Augment(
        True, 4, 8
    )


def test_each_new_knob_changes_what_is_trained(digits):
    base = train(config(**CNN, optimizer="sgd", momentum=0.9), digits)
    assert base.ok, base.reason
    variants = {
        "nesterov": {"nesterov": True},
        "crop": {"augmentation": "shift"},
        "crop_padding": {"augmentation": "shift", "crop_padding": 1},
        "cutout": {"cutout": 3},
        "ema": {"ema": 0.9},
        "test_time_flip": {"test_time_flip": True},
        "convs_per_block": {"convs_per_block": 2},
    }
    outputs = {"base": base.validation}
    for name, changes in variants.items():
        result = train(config(**CNN, optimizer="sgd", momentum=0.9, **changes), digits)
        assert result.ok, (name, result.reason)
        outputs[name] = result.validation
    names = list(outputs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not np.array_equal(outputs[a], outputs[b]), (a, b)
    # knobs a configuration does not read change nothing: stages are the ResNet's
    again = train(config(**CNN, optimizer="sgd", momentum=0.9, stages=1), digits)
    assert np.array_equal(again.validation, base.validation)


def test_nesterov_reaches_the_optimiser_and_is_dropped_without_momentum():
    net = torch.nn.Linear(2, 1)
    assert make_optimizer(config(nesterov=True, momentum=0.9), net.parameters()).param_groups[0][
        "nesterov"
    ]
    # torch refuses Nesterov without momentum; the knob then has nothing to act on
    plain = make_optimizer(config(nesterov=True, momentum=0.0), net.parameters())
    assert not plain.param_groups[0]["nesterov"]


def test_the_resnet_trains_and_halves_the_map_each_stage(digits):
    result = train(config(**{**RESNET, "epochs": 4}, learning_rate=0.05, momentum=0.9), digits)
    assert result.ok, result.reason
    assert result.curves["train_loss"][-1] < result.curves["train_loss"][0]
    assert result.metrics["accuracy"] > 0.3  # chance is 0.1
    net = build_net(config(model="resnet", depth=2, stages=3, channels=8), (3, 32, 32), 10)
    maps = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: maps.append(tuple(out.shape[1:])))
        for m in net
        if type(m).__name__ == "_Residual"
    ]
    net(torch.zeros(2, 3, 32, 32))
    for hook in hooks:
        hook.remove()
    assert maps == [(8, 32, 32), (8, 32, 32), (16, 16, 16), (16, 16, 16), (32, 8, 8), (32, 8, 8)]
    resnet18 = build_net(config(model="resnet", depth=2, stages=4, channels=64), (3, 32, 32), 10)
    assert sum(p.numel() for p in resnet18.parameters()) == 11_173_962  # ResNet-18's count


def test_the_weight_average_follows_the_weights_at_its_decay():
    net = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(0.0)
    average = WeightAverage(net)
    with torch.no_grad():
        net.weight.fill_(1.0)
    average.update(net, 0.99)  # the first update's decay is 2/11, not 0.99
    assert float(average.model.weight) == pytest.approx(1 - 2 / 11)
    for _ in range(1000):
        average.update(net, 0.5)
    assert float(average.model.weight) == pytest.approx(1.0)
    assert not any(p.requires_grad for p in average.model.parameters())


def test_ema_and_test_time_flip_are_what_is_scored(digits):
    run = NeuralRun.start(config(**RESNET, ema=0.9, test_time_flip=True), digits, 0)
    out = run.train(2, "accuracy")
    assert run.average is not None and run.average.updates == 2 * 5  # 300 images, batch 64
    X_val = run.X_val
    averaged = predict(run.average.model, X_val, flip=True)
    mirrored = (predict(run.average.model, X_val) + predict(run.average.model, X_val.flip(3))) / 2
    assert torch.allclose(averaged, mirrored, atol=1e-6)
    scores = run.arrays.scorer(logits=True)
    assert out["metrics"] == scores(run.arrays.y_val, averaged.numpy())
    assert run.val_metrics() == out["metrics"]
    live = predict(run.model, X_val, flip=True)
    assert not torch.equal(live, averaged)  # the live weights are not what was scored


def test_ema_switches_on_and_off_mid_run_and_nesterov_follows(digits):
    run = NeuralRun.start(config(**CNN, momentum=0.9), digits, 0)
    run.train(1, "accuracy")
    assert run.average is None
    run.reconfigure({**run.config, "ema": 0.95, "nesterov": True})
    assert run.average is not None and run.average.updates == 0
    assert run.optimizer.param_groups[0]["nesterov"]
    started = [p.clone() for p in run.average.model.parameters()]
    for a, b in zip(started, run.model.parameters(), strict=True):
        assert torch.equal(a, b)  # it starts from the weights of the moment
    run.train(1, "accuracy")
    assert run.average.updates == 5
    run.reconfigure({**run.config, "ema": 0.0})
    assert run.average is None


@pytest.mark.parametrize(
    "changes", [RESNET, {**CNN, "ema": 0.9, "cutout": 2}], ids=["resnet", "ema"]
)
def test_a_checkpointed_run_continues_bit_for_bit_and_loads_what_was_scored(
    digits, tmp_path, changes
):
    c = config(**changes, augmentation="flip_shift")
    whole = NeuralRun.start(c, digits, 0)
    whole.train(2, "accuracy")
    halves = NeuralRun.start(c, digits, 0)
    halves.train(1, "accuracy")
    ref = halves.save(tmp_path / "run.pt")
    resumed = NeuralRun.load(ref, digits, 0)
    resumed.train(1, "accuracy")
    whole_state, resumed_state = whole.scored.state_dict(), resumed.scored.state_dict()
    for name, value in whole_state.items():
        assert torch.equal(value, resumed_state[name]), name
    assert resumed.val_metrics() == whole.val_metrics()
    saved = resumed.save(tmp_path / "end.pt")
    model, loaded_config = load_model(saved["path"])
    assert loaded_config == c
    out = predict(model, resumed.X_val.contiguous())  # the default layout: sums in another order
    assert torch.allclose(out, predict(resumed.scored, resumed.X_val), atol=1e-5)
