"""The knobs of each task family: image, tabular classification, tabular regression.

Declared once, here; validation, prompts, the baselines' distributions and the MLflow
params all derive from these declarations.
"""

from __future__ import annotations

from dataclasses import replace

from lgt_graph.errors import ConfigError
from lgt_graph.space.family_space import Space
from lgt_graph.space.knob import CONV_MODELS, FAMILIES, NEURAL_MODELS, TREE_MODELS, Family, Knob

LIVE = frozenset(
    {
        "learning_rate",
        "optimizer",
        "momentum",
        "weight_decay",
        "batch_size",
        "augmentation",
        "label_smoothing",
        "class_weighting",
        "grad_clip",
        "dropout",
        "nesterov",
        "crop_padding",
        "cutout",
        "ema",
        "test_time_flip",
    }
)
"""The knobs a net's training can change between epochs, the weights carrying over (a
learning-rate decay step is a change of ``learning_rate``); the rest define the model, its
inputs or the whole run's plan, and change only between trainings."""


def space_for(family: Family) -> Space:
    """Return the configuration space of a task family."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown task family {family!r}; families: {', '.join(FAMILIES)}")
    return Space(family, [replace(k, live=k.name in LIVE) for k in _knobs(family)])


def _knobs(family: Family) -> list[Knob]:
    image = family == "image"
    classification = family != "tabular_regression"
    models = NEURAL_MODELS if image else ("mlp", *TREE_MODELS, "linear")
    neural = NEURAL_MODELS if image else ("mlp",)
    trees = () if image else TREE_MODELS
    knobs = [
        # architecture
        Knob("model", "architecture", "choice", "mlp",
             "Model family." + (" mlp reads flattened pixels; cnn convolves the image in"
                                " blocks that each halve it; resnet stacks residual blocks"
                                " (He et al. 2016) in stages and averages the last map."
                                if image else
                                " mlp is a PyTorch net; gbm is histogram gradient boosting;"
                                " random_forest and linear are scikit-learn models."),
             choices=models),
        Knob("depth", "architecture", "int", 1,
             "Hidden layers of the MLP" + (", convolution blocks of the CNN, or residual blocks"
                                           " in each stage of the ResNet." if image else "."),
             low=1, high=6, used_by=neural),
        Knob("width", "architecture", "int", 128 if image else 64,
             "Units in each hidden layer (the CNN's dense head too).",
             low=8, high=1024, log=True, used_by=("mlp", "cnn") if image else neural),
        *([Knob("channels", "architecture", "int", 16,
                "Filters of the first convolution block (the ResNet's first stage); each later"
                " block (stage) doubles them.", low=4, high=128, log=True, used_by=CONV_MODELS),
           Knob("convs_per_block", "architecture", "int", 1,
                "Convolutions in each CNN block: the first, max pooling, then the rest at the"
                " halved size (two a block is the fast CIFAR-10 trainings' block).",
                low=1, high=3, used_by=("cnn",)),
           Knob("stages", "architecture", "int", 3,
                "Stages of the ResNet; each after the first halves the map and doubles the"
                " channels (ResNet-18: 4 stages of 2 blocks, 64 channels).",
                low=1, high=4, used_by=("resnet",))] if image else []),
        Knob("dropout", "architecture", "float", 0.0,
             "Dropout probability after each hidden layer" + (" (the ResNet's: before its"
                                                               " output layer)." if image else "."),
             low=0.0, high=0.7, used_by=neural),
        Knob("batch_norm", "architecture", "bool", False,
             "Batch normalisation after each hidden layer" + (" (a ResNet always has it)."
                                                              if image else "."),
             used_by=("mlp", "cnn") if image else neural),
        Knob("activation", "architecture", "choice", "relu", "Hidden-layer nonlinearity.",
             choices=("relu", "gelu", "silu", "tanh", "leaky_relu"), used_by=neural),
        *([Knob("n_estimators", "architecture", "int", 100,
                "Trees in the ensemble (boosting iterations for gbm).",
                low=10, high=1000, log=True, used_by=trees),
           Knob("tree_max_depth", "architecture", "int", 0,
                "Maximum depth of each tree; 0 leaves it unlimited.",
                low=0, high=32, used_by=trees),
           Knob("randomized_splits", "architecture", "bool", False,
                "Draw each split's threshold at random instead of searching for the best one"
                " (extremely randomised trees, Geurts et al. 2006): less correlated trees,"
                " a smoother forest.", used_by=("random_forest",))] if not image else []),
        # training strategy
        Knob("optimizer", "training_strategy", "choice", "sgd" if image else "adam",
             "Gradient-descent optimiser.",
             choices=("sgd", "adam", "adamw", "rmsprop"), used_by=neural),
        Knob("lr_schedule", "training_strategy", "choice", "constant",
             "Learning-rate schedule over the epochs (step divides by 10 at 1/2 and 3/4).",
             choices=("constant", "step", "cosine", "onecycle"), used_by=neural),
        Knob("batch_size", "training_strategy", "int", 64, "Examples per gradient step.",
             low=8, high=1024, log=True, used_by=neural),
        Knob("epochs", "training_strategy", "int", 5 if image else 30,
             "Passes over the training split.", low=1, high=200, used_by=neural),
        Knob("early_stopping_patience", "training_strategy", "int", 0,
             "Stop after this many epochs without a better validation score and keep the best"
             " epoch; 0 turns early stopping off.", low=0, high=30, used_by=neural),
        Knob("grad_clip", "training_strategy", "float", 0.0,
             "Clip the gradient norm to this value; 0 turns clipping off.",
             low=0.0, high=10.0, used_by=neural),
        *([Knob("regression_loss", "training_strategy", "choice", "squared_error",
                "What a regression net or gbm minimises: squared error fits the mean, absolute"
                " error the median (the minimiser of a mean absolute error; it resists"
                " outliers).", choices=("squared_error", "absolute_error"),
                used_by=(*neural, "gbm"))] if family == "tabular_regression" else []),
        *([Knob("label_smoothing", "training_strategy", "float", 0.0,
                "Label smoothing of the cross-entropy target.", low=0.0, high=0.3,
                used_by=neural),
           Knob("class_weighting", "training_strategy", "choice", "none",
                "Weight classes inversely to their frequency (balanced) or not.",
                choices=("none", "balanced"))] if classification else []),
        *([Knob("augmentation", "training_strategy", "choice", "none",
                "Random training-time transforms: horizontal flip, shift (a random crop of the"
                " image padded by crop_padding pixels, reflected), or both.",
                choices=("none", "flip", "shift", "flip_shift")),
           Knob("crop_padding", "training_strategy", "int", 2,
                "Pixels the image is padded by (reflected) before the random crop: the largest"
                " shift.", low=1, high=8, when=("augmentation", ("shift", "flip_shift"))),
           Knob("cutout", "training_strategy", "int", 0,
                "Side in pixels of a square zeroed at a random place in each training image"
                " (cutout, DeVries & Taylor 2017); 0 turns it off.", low=0, high=16),
           Knob("ema", "training_strategy", "float", 0.0,
                "Decay of an exponential moving average of the weights, updated every step;"
                " when set, scoring and the saved model use the averaged weights. 0 turns it"
                " off.", low=0.0, high=0.9999, used_by=neural),
           Knob("test_time_flip", "training_strategy", "bool", False,
                "Score each image as the average of the outputs for it and its mirror image"
                " (test-time augmentation; only for classes a mirror does not change).",
                used_by=neural)] if image else []),
        # feature engineering
        *([Knob("input_normalization", "feature_engineering", "choice", "scale01",
                "Pixel scaling: raw 0-255, divided by 255, or standardised per channel with"
                " training-split statistics.", choices=("none", "scale01", "standardize"))]
          if image else
          [Knob("imputation", "feature_engineering", "choice", "mean",
                "How missing values are filled, from training-split statistics.",
                choices=("mean", "median", "most_frequent")),
           Knob("zeros_as_missing", "feature_engineering", "bool", False,
                "Treat the zeros of columns whose zeros look like missing measurements (a"
                " cluster of exact zeros far below every other value; the data note names"
                " them) as missing values, for imputation to fill."),
           Knob("scaling", "feature_engineering", "choice",
                "none" if classification else "standard",
                "Feature scaling fitted on the training split.",
                choices=("none", "standard", "minmax", "robust", "quantile")),
           Knob("polynomial_degree", "feature_engineering", "int", 1,
                "Add products of features up to this degree; 1 keeps the raw features.",
                low=1, high=3),
           Knob("feature_selection", "feature_engineering", "choice", "none",
                "Keep the features with the highest univariate score (F-test or mutual"
                " information).", choices=("none", "f_test", "mutual_info")),
           Knob("selected_fraction", "feature_engineering", "float", 1.0,
                "Share of the features kept when feature_selection is on.", low=0.1, high=1.0,
                when=("feature_selection", ("f_test", "mutual_info")))]),
        *([Knob("target_transform", "feature_engineering", "choice", "standardize",
                "Transform of the regression target before fitting; predictions are mapped back.",
                choices=("none", "log", "standardize"))] if family == "tabular_regression"
          else []),
        # hyperparameters
        Knob("learning_rate", "hyperparameters", "float", 0.01 if image else 0.001,
             "Step size of the optimiser (shrinkage for gbm).", low=1e-5, high=1.0, log=True,
             used_by=(*neural, "gbm")),
        Knob("weight_decay", "hyperparameters", "float", 0.0,
             "L2 penalty on the weights (decoupled for adamw).", low=0.0, high=0.1,
             used_by=neural),
        Knob("momentum", "hyperparameters", "float", 0.0,
             "Momentum of sgd and rmsprop.", low=0.0, high=0.99, used_by=neural,
             when=("optimizer", ("sgd", "rmsprop"))),
        *([Knob("nesterov", "hyperparameters", "bool", False,
                "Nesterov momentum for sgd: the gradient is taken at the point the momentum"
                " leads to (no effect at momentum 0).", used_by=neural,
                when=("optimizer", ("sgd",)))] if image else []),
        *([Knob("min_samples_leaf", "hyperparameters", "int", 1,
                "Fewest training examples in a tree leaf.", low=1, high=100, log=True,
                used_by=trees),
           Knob("l2_penalty", "hyperparameters", "float", 1.0,
                "L2 penalty of the linear model (Ridge alpha; logistic regression C = 1/l2).",
                low=1e-6, high=100.0, log=True, used_by=("linear",))] if not image else []),
    ]  # fmt: skip
    return knobs
