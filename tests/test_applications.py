"""Applications, first half: VGG, ResNet (V1 and V2), MobileNet (V1, V2, V3) and DenseNet, checked against Keras 3
itself (`applications_parity`: weights move both ways through ``.weights.h5`` files, predictions equal at rtol
1e-4; here Keras also writes the Keras 2 ``.h5`` layout of its ImageNet files, which the constructor's
``weights=`` must read), plus the shared `imagenet_utils` (preprocessing, decoding, input shapes, argument checks,
weights). Models are built at their smallest input size (32x32).

CI cost: one model per family runs by default, and each family's Keras parity runs in one of the two backend passes
(alternating: the first family on jax, the second on torch, ...); one Keras subprocess per pass does every family
of that pass. The cross-backend digest test (seeded ``weights=None`` models bit-identical on the other backend)
runs in the first pass only. ``-m slow`` runs every family's parity on the current backend (run it with both
backends for the full matrix) and the deeper variants.
"""

import importlib.util
import json
import os

import numpy as np
import pytest

import kshim as keras
from applications_parity import HERE, ROOT, check, check_seeded_weights_on_the_other_backend, cross, default_params, \
    needs_keras, parity_pass, parity_runs, perturb
from kshim.applications import imagenet_utils

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


def _runs(workdir, cases):
    """Keras 3 writes the Keras 2 layout of its ImageNet files too: the constructor's `weights=` must take it."""
    return parity_runs(workdir, cases, x_range=(-1.0, 1.0), legacy=True)


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    """Every DEFAULT family whose parity runs in this pass, with one Keras subprocess for all of them."""
    mine = [i for i in range(len(DEFAULT)) if parity_pass(i) == HERE]
    runs = _runs(tmp_path_factory.mktemp("applications_parity"), [DEFAULT[i] for i in mine])
    return dict(zip(mine, runs))


@needs_keras
@pytest.mark.parametrize("index", default_params(DEFAULT))
def test_weights_move_both_ways(parity, index):
    check(parity[index])


@needs_keras
@pytest.mark.slow
@pytest.mark.parametrize("case", DEFAULT + SLOW, ids=[c[1] for c in DEFAULT + SLOW])
def test_weights_move_both_ways_every_family_on_this_backend(tmp_path, case):
    (run,) = _runs(tmp_path, [case])
    check(run)


@cross
def test_seeded_weights_are_bit_identical_on_the_other_backend(tmp_path):
    check_seeded_weights_on_the_other_backend(tmp_path, DEFAULT)


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
    perturb(source, 2)
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


@pytest.mark.slow
def test_transfer_learning_example_trains_a_head_on_the_frozen_base(monkeypatch):
    """examples/transfer_learning_applications.py (a frozen MobileNetV2 base with weights=None and a new head, on
    the digits at 32x32): the head learns (chance is 0.1) and the base stays frozen (the example exits otherwise).
    Slow: a minute of CPU per backend."""
    pytest.importorskip("sklearn")
    folder = os.path.join(ROOT, "examples")
    monkeypatch.syspath_prepend(folder)
    spec = importlib.util.spec_from_file_location("transfer_learning_applications_example",
                                                  os.path.join(folder, "transfer_learning_applications.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(epochs=2) > 0.4
