"""Applications, second half: EfficientNet, EfficientNetV2, InceptionV3, InceptionResNetV2, Xception, ConvNeXt and
NASNet, checked against Keras 3 itself (`applications_parity`: weights move both ways through ``.weights.h5``
files, predictions equal at rtol 1e-4). Models are built at their smallest input size; the inputs are pixels in
[0, 255] (EfficientNet and ConvNeXt rescale them inside the model).

CI cost: the smallest variant of each family runs by default, and each family's Keras parity runs in one of the
two backend passes (alternating: the first family on jax, the second on torch, ...); one Keras subprocess per pass
does every family of that pass. The cross-backend digest test runs in the first pass only. ``-m slow`` runs every
family's parity on the current backend (run it with both backends for the full matrix) and the bigger variants.

NASNet: Keras 3 refuses NASNetMobile on its torch backend ("an outstanding bug"), so NASNet's Keras side runs on
Keras's jax backend, where building the model alone takes minutes on a loaded CI machine: NASNet's parity is slow
only. CI checks NASNetMobile's structure instead (layer names, weight names, shapes and order, parameter count)
against a fingerprint of Keras 3.15's model; a slow test recomputes that fingerprint from Keras itself.
"""

import hashlib
import inspect
import json
import os
import subprocess
import sys

import pytest

import kshim as keras
from applications_parity import HERE, check, check_seeded_weights_on_the_other_backend, cross, default_params, \
    needs_keras, parity_pass, parity_runs
from kshim.applications import imagenet_utils

pytestmark = needs_keras

# (kshim/keras module, function, input side, kwargs). The first of each family runs by default.
DEFAULT = [
    ("efficientnet", "EfficientNetB0", 32, {}),
    ("efficientnet_v2", "EfficientNetV2B0", 32, {}),
    ("inception_v3", "InceptionV3", 75, {}),
    ("inception_resnet_v2", "InceptionResNetV2", 75, {}),
    ("xception", "Xception", 71, {}),
    ("convnext", "ConvNeXtTiny", 32, {}),
]
NASNET = [
    ("nasnet", "NASNetMobile", 32, {}),
    ("nasnet", "NASNetLarge", 32, {}),
]
SLOW = [
    ("efficientnet", f"EfficientNetB{i}", 32, {}) for i in range(1, 8)
] + [
    ("efficientnet_v2", f"EfficientNetV2{v}", 32, {}) for v in ("B1", "B2", "B3", "S", "M", "L")
] + [
    ("convnext", f"ConvNeXt{v}", 32, {}) for v in ("Small", "Base", "Large", "XLarge")
] + NASNET


def _keras_backend(case):
    return "jax" if case[0] == "nasnet" else "torch"


def _runs(workdir, cases):
    return parity_runs(workdir, cases, x_range=(0.0, 255.0), keras_backend=_keras_backend)


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    """Every DEFAULT family whose parity runs in this pass, with one Keras subprocess for all of them."""
    mine = [i for i in range(len(DEFAULT)) if parity_pass(i) == HERE]
    runs = _runs(tmp_path_factory.mktemp("applications_b_parity"), [DEFAULT[i] for i in mine])
    return dict(zip(mine, runs))


@pytest.mark.parametrize("index", default_params(DEFAULT))
def test_weights_move_both_ways(parity, index):
    check(parity[index])


@pytest.mark.slow
@pytest.mark.parametrize("case", DEFAULT + SLOW, ids=[c[1] for c in DEFAULT + SLOW])
def test_weights_move_both_ways_every_family_on_this_backend(tmp_path, case):
    (run,) = _runs(tmp_path, [case])
    check(run)


@cross
def test_seeded_weights_are_bit_identical_on_the_other_backend(tmp_path):
    check_seeded_weights_on_the_other_backend(tmp_path, DEFAULT)


# -- NASNet ---------------------------------------------------------------------------------------------------------

def fingerprint(model):
    """Parameter count, and the sha256 of every (layer name, weight name, shape) in the model's weight order."""
    rows = [[layer.name, w.name, list(w.shape)] for layer in model.layers for w in layer.weights]
    assert [w.name for w in model.weights] == [r[1] for r in rows]
    return {"params": int(model.count_params()), "weights": len(rows),
            "sha256": hashlib.sha256(json.dumps(rows).encode()).hexdigest()}


# Keras 3.15.1's models at 32x32x3, classes=5 (recomputed from Keras by the slow test below).
KERAS_FINGERPRINTS = {
    "NASNetMobile": {"params": 4275001, "weights": 1126,
                     "sha256": "fdf3c46ac0b2a8db941bf4db82e37192e215690f29c9d5074bc7341f3801c7bf"},
    "NASNetLarge": {"params": 84936983, "weights": 1546,
                    "sha256": "8f9fce93868f21e3160ba6116792361a1baa7891d32f3992be7b5f8790e13816"},
}

FINGERPRINT_SCRIPT = """
import hashlib, json, keras
from keras.src.applications import nasnet

{fingerprint}

kw = dict(weights=None, input_shape=(32, 32, 3), classes=5, classifier_activation=None)
out = {{
    # Keras refuses NASNetMobile on torch; its builder with NASNetMobile's arguments builds the same graph
    "NASNetMobile": fingerprint(nasnet.NASNet(penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                                              skip_reduction=False, filter_multiplier=2, default_size=224,
                                              name="nasnet_mobile", **kw)),
    "NASNetLarge": fingerprint(keras.applications.NASNetLarge(**kw)),
}}
print(json.dumps(out))
"""


def test_nasnet_mobile_has_keras_layers_weights_and_order():
    model = keras.applications.NASNetMobile(weights=None, input_shape=(32, 32, 3), classes=5,
                                            classifier_activation=None)
    assert fingerprint(model) == KERAS_FINGERPRINTS["NASNetMobile"]
    assert model.name == "nasnet_mobile" and model.output.shape == (None, 5)


def test_nasnet_arguments_follow_keras(tmp_path, monkeypatch):
    apps = keras.applications
    # weights="imagenet" offline with an empty cache: the error names Keras's file and the folder it goes in
    monkeypatch.delenv("KSHIM_HOME", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(imagenet_utils, "_network_answers", lambda origin, timeout=None: False)
    with pytest.raises(OSError, match="nasnet_mobile_no_top.h5") as info:
        apps.NASNetMobile(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    assert str(tmp_path / "models") in str(info.value) and "NASNet-mobile-no-top.h5" in str(info.value)
    assert apps.NASNetMobile is apps.nasnet.NASNetMobile and apps.NASNetLarge is apps.nasnet.NASNetLarge
    assert callable(apps.nasnet.preprocess_input) and callable(apps.nasnet.decode_predictions)
    # without the classifier and an input_shape, NASNetMobile's input is 224x224x3 (Keras's rule)
    features = apps.NASNetMobile(weights=None, include_top=False, pooling="avg")
    assert features.input.shape == (None, 224, 224, 3) and features.output.shape == (None, 1056)
    with pytest.raises(ValueError, match="at least 32x32"):
        apps.NASNetLarge(weights=None, include_top=False, input_shape=(31, 31, 3))
    with pytest.raises(ValueError, match="input_shape"):
        apps.NASNetMobile(weights="imagenet", include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="classes"):
        apps.NASNetMobile(weights="imagenet", classes=10)
    keras.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="channels_last"):
            apps.NASNetMobile(weights=None, input_shape=(3, 32, 32), include_top=False)
    finally:
        keras.config.set_image_data_format("channels_last")


@pytest.mark.slow
def test_nasnet_fingerprints_are_keras_own(tmp_path):
    script = tmp_path / "fingerprints.py"
    script.write_text(FINGERPRINT_SCRIPT.format(fingerprint=inspect.getsource(fingerprint)))
    env = {k: v for k, v in os.environ.items() if k not in ("KSHIM_BACKEND", "PYTHONPATH")}
    env["KERAS_BACKEND"] = "torch"
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == KERAS_FINGERPRINTS
    large = keras.applications.NASNetLarge(weights=None, input_shape=(32, 32, 3), classes=5,
                                           classifier_activation=None)
    assert fingerprint(large) == KERAS_FINGERPRINTS["NASNetLarge"]
