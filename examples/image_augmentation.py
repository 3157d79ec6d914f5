"""Image classification from a folder of image files with augmentation layers in the model.

    KSHIM_BACKEND=torch python examples/image_augmentation.py

scikit-learn's 8x8 digits are written out as PNG files, one folder per class (the layout of the Keras 3
"image classification from scratch" tutorial), read back with `image_dataset_from_directory` (Pillow needed:
``pip install "kshim[image]"``), and learned by a small convnet whose first layers augment the images. The
random layers are active in ``fit`` only and draw from kshim's seeded generator, so a seeded run augments the
same way on jax and torch.
"""

import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import kshim as keras
from kshim import layers

IMAGE_SIZE = (16, 16)


def write_digits(root, limit=None):
    """Each digit as a grayscale PNG in ``root/<label>/``."""
    from PIL import Image

    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images[:limit], digits.target[:limit])):
        folder = os.path.join(root, str(label))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray((image * 255 / 16).astype("uint8"), "L").save(os.path.join(folder, f"{i:04d}.png"))


def build_model():
    augmentation = keras.Sequential([
        layers.RandomRotation(0.04, fill_mode="constant", seed=1),
        layers.RandomZoom(0.1, fill_mode="constant", seed=2),
        layers.RandomTranslation(0.06, 0.06, fill_mode="constant", seed=3),
    ], name="augmentation")
    return augmentation, keras.Sequential([
        keras.Input(IMAGE_SIZE + (1,)),
        augmentation,
        layers.Rescaling(1.0 / 255),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def main(epochs=6, limit=None):
    keras.utils.set_random_seed(0)
    with tempfile.TemporaryDirectory() as root:
        write_digits(root, limit)
        train_ds, val_ds = keras.utils.image_dataset_from_directory(
            root, color_mode="grayscale", image_size=IMAGE_SIZE, batch_size=32, validation_split=0.2,
            subset="both", seed=1337, verbose=False)
        print(f"classes {train_ds.class_names}: {len(train_ds.file_paths)} training and "
              f"{len(val_ds.file_paths)} validation images, batches of {train_ds[0][0].shape}")

        augmentation, model = build_model()
        x0 = train_ds[0][0][:4]
        augmented = keras.ops.convert_to_numpy(augmentation(x0, training=True))
        unchanged = keras.ops.convert_to_numpy(augmentation(x0, training=False))
        print(f"augmentation moves pixels by {np.abs(augmented - x0).mean():.1f} (of 255) on average in training, "
              f"and is the identity at inference: {np.array_equal(unchanged, x0)}")

        model.compile(optimizer=keras.optimizers.Adam(0.005), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        # The datasets are PyDatasets: fit reads (and reshuffles) the image files batch by batch.
        model.fit(train_ds, epochs=epochs, validation_data=val_ds, verbose=0)
        loss, accuracy = model.evaluate(val_ds, verbose=0)
    print(f"[{keras.config.backend()}] validation loss {loss:.4f}, validation accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
