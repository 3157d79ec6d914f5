"""Regenerates the README's pictures of a two-input functional model:

    PYTHONPATH=. python docs/images/make_plot_model_images.py

- ``plot_model_two_inputs.png``: `kshim.utils.plot_model` through pydot and Graphviz (as Keras 3 draws it);
- ``plot_model_two_inputs.svg``: kshim's built-in SVG layout of the same graph (what ``plot_model(...,
  to_file="x.svg")`` writes where Graphviz is missing).
"""

import os

import kshim as keras
from kshim import layers
from kshim.utils import model_svg, model_visualization

HERE = os.path.dirname(os.path.abspath(__file__))


def two_input_model():
    image = keras.Input((8, 8, 1), name="image")
    numbers = keras.Input((16,), name="numbers")
    a = layers.Dense(32, activation="relu", name="dense_a")(numbers)
    b = layers.Flatten(name="flatten")(layers.Conv2D(4, 3, name="conv")(image))
    merged = layers.Concatenate(name="concat")([a, b])
    return keras.Model([image, numbers], layers.Dense(10, activation="softmax", name="probs")(merged),
                       name="two_inputs")


def main():
    model = two_input_model()
    keras.utils.plot_model(model, to_file=os.path.join(HERE, "plot_model_two_inputs.png"), show_shapes=True,
                           show_layer_names=True, dpi=72)
    graph = model_visualization.layer_graph(model, show_shapes=True, show_layer_names=True)
    with open(os.path.join(HERE, "plot_model_two_inputs.svg"), "w", encoding="utf-8") as f:
        f.write(model_svg.to_svg(graph))


if __name__ == "__main__":
    main()
