"""Applications, first half: VGG, ResNet (V1 and V2), MobileNet (V1, V2, V3) and DenseNet, checked against Keras 3
itself, plus the shared `imagenet_utils` (preprocessing, decoding, input shapes, argument checks, weights).

For each model, at a small input size:
- Keras 3 (in a subprocess, ``KERAS_BACKEND=jax``) builds the same application, perturbs every weight (so batch
  statistics, gammas and biases are not their trivial initial values), writes a ``.weights.h5`` and predicts;
  kshim loads the file and must predict the same numbers (rtol 1e-4);
- kshim builds the model from a seed, perturbs it the same way and writes a ``.weights.h5``; Keras 3 loads it and
  must predict kshim's numbers (rtol 1e-4);
- the seeded ``weights=None`` model is bit-identical on the other backend (one subprocess for all families).

One model per family runs by default; the deeper variants are marked ``slow`` (CI deselects them).
"""

import hashlib
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kshim as keras
from kshim.applications import imagenet_utils

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAS_KERAS = importlib.util.find_spec("keras") is not None
needs_keras = pytest.mark.skipif(not HAS_KERAS, reason="needs Keras 3 (test extra)")

# (module, function, input side, kwargs). One of each family runs by default.
DEFAULT = [
    ("vgg16", "VGG16", 32, {"include_top": False, "pooling": "avg"}),
    ("resnet", "ResNet50", 32, {}),
    ("resnet_v2", "ResNet50V2", 32, {"include_top": False, "pooling": "max"}),
    ("mobilenet", "MobileNet", 32, {"alpha": 0.5}),
    ("mobilenet_v2", "MobileNetV2", 32, {}),
    ("mobilenet_v3", "MobileNetV3Small", 32, {}),
    ("densenet", "DenseNet121", 32, {"include_top": False, "pooling": "avg"}),
]
SLOW = [
    ("vgg19", "VGG19", 32, {"include_top": False, "pooling": "max"}),
    ("resnet", "ResNet101", 32, {}),
    ("resnet", "ResNet152", 32, {}),
    ("resnet_v2", "ResNet101V2", 32, {}),
    ("resnet_v2", "ResNet152V2", 32, {}),
    ("mobilenet_v3", "MobileNetV3Large", 32, {}),
    ("mobilenet_v3", "MobileNetV3Large", 32, {"minimalistic": True, "include_top": False, "pooling": "avg"}),
    ("densenet", "DenseNet169", 32, {}),
    ("densenet", "DenseNet201", 32, {}),
]

KERAS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras

    spec = json.loads(sys.argv[1])

    def build():
        fn = getattr(keras.applications, spec["fn"])
        return fn(weights=None, input_shape=(spec["size"], spec["size"], 3), classes=spec["classes"],
                  classifier_activation=None, **spec["kwargs"])

    x = np.load(spec["x"])
    model = build()
    rng = np.random.default_rng(spec["seed"])
    for v in model.weights:
        w = np.asarray(v.numpy())
        if v.name == "moving_variance":
            w = rng.uniform(0.5, 1.5, size=w.shape)
        else:
            w = w + rng.normal(0.0, 0.05, size=w.shape)
        v.assign(w.astype("float32"))
    model.save_weights(spec["keras_file"])
    import h5py
    from keras.src.legacy.saving import legacy_h5_format
    with h5py.File(spec["legacy_file"], "w") as f:  # the Keras 2 layout of Keras's ImageNet files
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    np.save(spec["keras_pred"], np.asarray(model.predict(x, verbose=0)))
    other = build()
    other.load_weights(spec["kshim_file"])
    np.save(spec["kshim_pred"], np.asarray(other.predict(x, verbose=0)))
""")


def _build(module, fn, size, kwargs, classes=5):
    kwargs = dict({"weights": None}, **kwargs)
    return getattr(importlib.import_module(f"kshim.applications.{module}"), fn)(
        input_shape=(size, size, 3), classes=classes, classifier_activation=None, **kwargs)


def _perturb(model, seed):
    rng = np.random.default_rng(seed)
    values = []
    for v in model.weights:
        w = np.asarray(v.numpy())
        if v.name == "moving_variance":
            w = rng.uniform(0.5, 1.5, size=w.shape)
        else:
            w = w + rng.normal(0.0, 0.05, size=w.shape)
        values.append(w.astype("float32"))
    model.set_weights(values)


def _close(actual, expected, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    assert np.all(np.isfinite(expected)), what
    scale = float(np.max(np.abs(expected)))
    assert scale > 1e-3, f"{what}: predictions are all ~0, the comparison would prove nothing"
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * scale, err_msg=what)


def _both_directions(tmp_path, module, fn, size, kwargs):
    keras.utils.set_random_seed(7)
    x = np.random.default_rng(1).uniform(-1, 1, size=(2, size, size, 3)).astype("float32")
    model = _build(module, fn, size, kwargs)
    _perturb(model, 11)
    files = {k: str(tmp_path / k.replace("_file", ".weights.h5").replace("_pred", "_pred.npy"))
             for k in ("keras_file", "kshim_file", "keras_pred", "kshim_pred")}
    files["x"] = str(tmp_path / "x.npy")
    files["legacy_file"] = str(tmp_path / "keras2_layout.h5")
    np.save(files["x"], x)
    model.save_weights(files["kshim_file"])
    ours = model.predict(x, verbose=0)
    spec = dict(files, module=module, fn=fn, size=size, kwargs=kwargs, classes=5, seed=3)
    script = tmp_path / "keras_side.py"
    script.write_text(KERAS_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("KSHIM_BACKEND", "PYTHONPATH")}
    env["KERAS_BACKEND"] = "jax"
    proc = subprocess.run([sys.executable, str(script), json.dumps(spec)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=str(tmp_path))
    assert proc.returncode == 0, f"Keras side failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    _close(np.load(files["kshim_pred"]), ours, f"{fn}: Keras 3 with kshim's weights")
    fresh = _build(module, fn, size, kwargs)
    fresh.load_weights(files["keras_file"])
    _close(fresh.predict(x, verbose=0), np.load(files["keras_pred"]), f"{fn}: kshim with Keras 3's weights")
    # the constructor's `weights=` takes the Keras 2 layout (that of the ImageNet files) and the .weights.h5
    legacy = _build(module, fn, size, dict(kwargs, weights=files["legacy_file"]))
    _close(legacy.predict(x, verbose=0), np.load(files["keras_pred"]), f"{fn}: kshim with a Keras 2 layout file")


@needs_keras
@pytest.mark.parametrize("module,fn,size,kwargs", DEFAULT, ids=[c[1] for c in DEFAULT])
def test_weights_move_both_ways(tmp_path, module, fn, size, kwargs):
    _both_directions(tmp_path, module, fn, size, kwargs)


@needs_keras
@pytest.mark.slow
@pytest.mark.parametrize("module,fn,size,kwargs", SLOW, ids=[c[1] for c in SLOW])
def test_weights_move_both_ways_deep_variants(tmp_path, module, fn, size, kwargs):
    _both_directions(tmp_path, module, fn, size, kwargs)


DIGEST_SCRIPT = textwrap.dedent("""
    import hashlib, importlib, json, sys
    import numpy as np
    import kshim as keras

    out = {}
    for module, fn, size, kwargs in json.loads(sys.argv[1]):
        keras.utils.set_random_seed(7)
        model = getattr(importlib.import_module("kshim.applications." + module), fn)(
            weights=None, input_shape=(size, size, 3), classes=5, classifier_activation=None, **kwargs)
        out[fn] = [hashlib.sha256(np.ascontiguousarray(w).tobytes()).hexdigest() for w in model.get_weights()]
    print(json.dumps({"backend": keras.config.backend(), "digests": out}))
""")


def test_seeded_weights_are_bit_identical_on_the_other_backend(tmp_path):
    here = keras.config.backend()
    other = {"jax": "torch", "torch": "jax"}[here]
    if importlib.util.find_spec(other) is None:
        pytest.skip(f"needs {other}")
    script = tmp_path / "digests.py"
    script.write_text(DIGEST_SCRIPT)
    env = dict(os.environ, KSHIM_BACKEND=other, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, str(script), json.dumps(DEFAULT)], env=env, capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert theirs["backend"] == other
    for module, fn, size, kwargs in DEFAULT:
        keras.utils.set_random_seed(7)
        digests = [hashlib.sha256(np.ascontiguousarray(w).tobytes()).hexdigest()
                   for w in _build(module, fn, size, kwargs).get_weights()]
        assert len(digests) > 10, fn
        assert theirs["digests"][fn] == digests, f"{fn}: seeded weights differ between {here} and {other}"


# -- imagenet_utils -------------------------------------------------------------------------------------------------

def test_preprocess_input_modes_match_the_formulas():
    pixel = np.array([[[[10.0, 20.0, 30.0]]]], dtype="float32")  # one RGB pixel, channels_last
    caffe = imagenet_utils.preprocess_input(pixel, mode="caffe")
    np.testing.assert_allclose(caffe[0, 0, 0], [30 - 103.939, 20 - 116.779, 10 - 123.68], rtol=1e-6)
    np.testing.assert_allclose(imagenet_utils.preprocess_input(pixel, mode="tf")[0, 0, 0],
                               [10 / 127.5 - 1, 20 / 127.5 - 1, 30 / 127.5 - 1], rtol=1e-6)
    torch_mode = imagenet_utils.preprocess_input(pixel, mode="torch")[0, 0, 0]
    np.testing.assert_allclose(torch_mode, [(10 / 255 - 0.485) / 0.229, (20 / 255 - 0.456) / 0.224,
                                            (30 / 255 - 0.406) / 0.225], rtol=1e-5)
    assert np.array_equal(pixel, [[[[10.0, 20.0, 30.0]]]]), "the input must not be overwritten"
    first = imagenet_utils.preprocess_input(np.transpose(pixel, (0, 3, 1, 2)), data_format="channels_first")
    np.testing.assert_allclose(first[0, :, 0, 0], caffe[0, 0, 0], rtol=1e-6)
    single = imagenet_utils.preprocess_input(pixel[0].astype("uint8"), mode="caffe")  # 3D, integer input
    assert single.dtype == np.float32
    np.testing.assert_allclose(single[0, 0], caffe[0, 0, 0], rtol=1e-6)
    tensor = keras.ops.convert_to_numpy(imagenet_utils.preprocess_input(keras.ops.convert_to_tensor(pixel)))
    np.testing.assert_allclose(tensor, caffe, rtol=1e-6)
    # the family modules pick Keras's mode
    apps = keras.applications
    np.testing.assert_allclose(apps.resnet50.preprocess_input(pixel), caffe)
    np.testing.assert_allclose(apps.mobilenet_v2.preprocess_input(pixel), pixel / 127.5 - 1, rtol=1e-6)
    np.testing.assert_allclose(apps.densenet.preprocess_input(pixel), torch_mode[None, None, None], rtol=1e-6)
    assert apps.mobilenet_v3.preprocess_input(pixel) is pixel
    with pytest.raises(ValueError, match="mode"):
        imagenet_utils.preprocess_input(pixel, mode="keras")
    with pytest.raises(ValueError, match="data_format"):
        imagenet_utils.preprocess_input(pixel, data_format="channels_middle")


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.delenv("KSHIM_HOME", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    imagenet_utils.reset_class_index()
    yield tmp_path / "keras_home"
    imagenet_utils.reset_class_index()


def test_decode_predictions_reads_the_class_index_from_the_keras_cache(keras_home):
    (keras_home / "models").mkdir(parents=True)
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (keras_home / "models" / "imagenet_class_index.json").write_text(json.dumps(index))
    preds = np.zeros((2, 1000), dtype="float32")
    preds[0, [7, 3, 900]] = [0.5, 0.3, 0.2]
    preds[1, 999] = 1.0
    decoded = keras.applications.vgg16.decode_predictions(preds, top=3)
    assert [(c, d) for c, d, _ in decoded[0]] == [("n00000007", "class_7"), ("n00000003", "class_3"),
                                                  ("n00000900", "class_900")]
    assert [float(s) for _, _, s in decoded[0]] == pytest.approx([0.5, 0.3, 0.2])
    assert decoded[1][0][:2] == ("n00000999", "class_999") and len(decoded[1]) == 3
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))


def test_offline_without_cached_files_raises_a_clear_error(keras_home, monkeypatch):
    monkeypatch.setattr(imagenet_utils, "_network_answers", lambda origin, timeout=None: False)
    with pytest.raises(OSError) as info, pytest.warns(UserWarning, match="224x224"):
        keras.applications.MobileNetV3Small(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    message = str(info.value)
    assert "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5" in message
    assert str(keras_home / "models") in message
    with pytest.raises(OSError, match="imagenet_class_index.json"):
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))


def test_imagenet_weights_are_read_from_the_keras_cache(keras_home, monkeypatch):
    monkeypatch.setattr(imagenet_utils, "_network_answers", lambda origin, timeout=None: False)
    keras.utils.set_random_seed(1)
    source = keras.applications.MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3))
    _perturb(source, 2)
    (keras_home / "models").mkdir(parents=True)
    saved = keras_home / "models" / "source.weights.h5"
    source.save_weights(str(saved))
    os.replace(saved, keras_home / "models" / "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5")
    with pytest.warns(UserWarning, match="224"):
        loaded = keras.applications.MobileNetV3Small(weights="imagenet", include_top=False,
                                                     input_shape=(32, 32, 3))
    for a, b in zip(source.get_weights(), loaded.get_weights()):
        assert np.array_equal(a, b)


def test_obtain_input_shape_follows_keras_rules():
    shape = imagenet_utils.obtain_input_shape
    assert shape(None, 224, 32, "channels_last", require_flatten=True) == (224, 224, 3)
    assert shape(None, 224, 32, "channels_last", require_flatten=False) == (None, None, 3)
    assert shape(None, 224, 32, "channels_first", require_flatten=False) == (3, None, None)
    assert shape((64, 48, 3), 224, 32, "channels_last", require_flatten=True) == (64, 48, 3)
    assert shape(None, 224, 32, "channels_last", True, weights="imagenet") == (224, 224, 3)
    with pytest.raises(ValueError, match="at least 32x32"):
        shape((31, 64, 3), 224, 32, "channels_last", require_flatten=False)
    with pytest.raises(ValueError, match=r"must be \(224, 224, 3\)"):
        shape((64, 64, 3), 224, 32, "channels_last", require_flatten=True, weights="imagenet")
    with pytest.raises(ValueError, match="3 channels"):
        shape((64, 64, 1), 224, 32, "channels_last", require_flatten=False, weights="imagenet")
    with pytest.raises(ValueError, match="static"):
        shape((None, None, 3), 224, 32, "channels_last", require_flatten=True)
    with pytest.warns(UserWarning, match="5 input channels"):
        shape((64, 64, 5), 224, 32, "channels_last", require_flatten=False)


@pytest.mark.parametrize("kwargs, match", [
    (dict(weights="no/such/file.h5"), "weights"),
    (dict(weights="imagenet", classes=10), "classes"),
    (dict(weights=None, classes=0), "classes"),
    (dict(weights=None, include_top=False, pooling="sum"), "pooling"),
    (dict(weights="imagenet", classifier_activation="relu"), "classifier_activation"),
    (dict(weights=None, input_tensor=np.zeros((1, 32, 32, 3))), "input_tensor"),
    (dict(weights=None, input_shape=(16, 16, 3), include_top=False), "at least 32x32"),
])
def test_constructor_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.applications.VGG16(**kwargs)


def test_input_tensor_and_keras_paths():
    apps = keras.applications
    assert apps.ResNet50 is apps.resnet.ResNet50 is apps.resnet50.ResNet50
    assert apps.ResNet152V2 is apps.resnet_v2.ResNet152V2 and apps.VGG19 is apps.vgg19.VGG19
    assert apps.MobileNetV3Large is apps.mobilenet_v3.MobileNetV3Large and apps.DenseNet201 is apps.densenet.DenseNet201
    for module in ("vgg16", "vgg19", "resnet", "resnet50", "resnet_v2", "mobilenet", "mobilenet_v2", "mobilenet_v3",
                   "densenet"):
        assert callable(getattr(apps, module).preprocess_input) and callable(getattr(apps, module).decode_predictions)
    raw = keras.Input(shape=(40, 40, 3), name="raw")
    scaled = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(raw)
    model = apps.MobileNet(weights=None, alpha=0.25, input_tensor=scaled, include_top=False, pooling="max")
    assert model.inputs[0] is raw and model.name == "mobilenet_0.25_40"
    assert model.output.shape == (None, 256)
    x = np.random.default_rng(0).uniform(0, 255, size=(2, 40, 40, 3)).astype("float32")
    assert model.predict(x, verbose=0).shape == (2, 256)
