"""`plot_image_gallery`, `plot_bounding_box_gallery` and `plot_segmentation_mask_gallery`, as Keras 3's
``keras.visualization`` functions: a grid of images drawn with matplotlib (the optional ``matplotlib`` extra),
shown or saved to ``path``, with Keras 3's figure layout so that a saved gallery matches Keras's.
"""

import functools
import math

import numpy as np

from kshim import config, ops
from kshim.visualization.drawing import _batched, draw_bounding_boxes, draw_segmentation_masks


def _pyplot(where):
    try:
        import matplotlib.pyplot as plt  # optional extra, imported on the first plot so kshim does not need it
    except ImportError as e:
        raise ImportError(f"{where} needs matplotlib: install the `matplotlib` extra (`pip install "
                          f"kshim[matplotlib]`, or `pip install matplotlib`)") from e
    return plt


def _to_0_255(images, value_range):
    """Images rescaled from ``value_range`` to [0, 255] in float32 (unchanged when the range is (0, 255))."""
    if value_range[0] == 0 and value_range[1] == 255:
        return np.asarray(ops.convert_to_numpy(images))
    x = ops.cast(ops.convert_to_tensor(images), "float32")
    low, high = np.float32(value_range[0]), np.float32(value_range[1])
    x = ops.divide(ops.subtract(x, low), high - low)
    return np.asarray(ops.convert_to_numpy(ops.multiply(x, np.float32(255.0))))


def plot_image_gallery(images, y_true=None, y_pred=None, label_map=None, rows=None, cols=None, value_range=(0, 255),
                       scale=2, path=None, show=None, transparent=True, dpi=60, legend_handles=None,
                       data_format=None):
    """A ``rows`` x ``cols`` grid (default: a near-square grid for the batch) of ``images`` in ``value_range``,
    titled with ``label_map[y_true[i]]`` / ``label_map[y_pred[i]]`` when given; saved to ``path``, or shown
    (``show`` defaults to "no path")."""
    plt = _pyplot("plot_image_gallery")
    if path is not None and show:
        raise ValueError("plot_image_gallery: pass either `path` or `show=True`, not both. Received: "
                         f"path={path!r}, show={show!r}")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError("plot_image_gallery: `y_true` and `y_pred` need a `label_map`. Received: label_map=None")
    show = show if show is not None else path is None
    data_format = data_format or config.image_data_format()
    _batched("plot_image_gallery", images)
    batch = ops.shape(images)[0]
    rows = rows or int(math.ceil(math.sqrt(batch)))
    cols = cols or int(math.ceil(batch // rows))
    images = images[: min(rows * cols, batch)]
    if data_format == "channels_first":
        images = ops.transpose(ops.convert_to_tensor(images), (0, 2, 3, 1))
    fig, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale), frameon=False,
                             layout="tight", squeeze=True, sharex="row", sharey="col")
    fig.subplots_adjust(wspace=0, hspace=0)
    if isinstance(axes, np.ndarray) and axes.ndim == 1:
        axes = np.expand_dims(axes, 0 if rows == 1 else -1)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    images = _to_0_255(images, value_range)
    y_true = None if y_true is None else np.asarray(ops.convert_to_numpy(y_true))
    y_pred = None if y_pred is None else np.asarray(ops.convert_to_numpy(y_pred))
    for row in range(rows):
        for col in range(cols):
            index = row * cols + col
            axis = axes[row, col] if isinstance(axes, np.ndarray) else axes
            axis.imshow(images[index].astype("uint8"))
            axis.margins(x=0, y=0)
            axis.axis("off")
            title = []
            if y_true is not None and index < len(y_true):
                title.append(f"Label: {label_map.get(y_true[index], 'Unknown')}")
            if y_pred is not None and index < len(y_pred):
                title.append(f"Pred: {label_map.get(y_pred[index], 'Unknown')}")
            if title:
                axis.set_title("  ".join(title), fontsize=8)
    if path is not None:
        plt.savefig(fname=path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
        plt.close()
    elif show:
        plt.show()
        plt.close()


def plot_bounding_box_gallery(images, bounding_box_format, y_true=None, y_pred=None, value_range=(0, 255),
                              true_color=(0, 188, 212), pred_color=(255, 235, 59), line_thickness=2, font_scale=1.0,
                              text_thickness=None, class_mapping=None, ground_truth_mapping=None,
                              prediction_mapping=None, legend=False, legend_handles=None, rows=None, cols=None,
                              data_format=None, **kwargs):
    """`plot_image_gallery` of ``images`` with the ``y_true`` boxes drawn in ``true_color`` and the ``y_pred``
    boxes in ``pred_color`` (see `draw_bounding_boxes`); ``legend=True`` adds a "Ground Truth" / "Prediction"
    legend. Further keyword arguments go to `plot_image_gallery`."""
    _pyplot("plot_bounding_box_gallery")
    from matplotlib import patches  # optional extra (checked just above), imported on the first plot

    prediction_mapping = prediction_mapping or class_mapping
    ground_truth_mapping = ground_truth_mapping or class_mapping
    data_format = data_format or config.image_data_format()
    _batched("plot_bounding_box_gallery", images)
    if data_format == "channels_first":
        images = ops.transpose(ops.convert_to_tensor(images), (0, 2, 3, 1))
    plotted = np.asarray(ops.convert_to_numpy(images))
    draw = functools.partial(draw_bounding_boxes, bounding_box_format=bounding_box_format,
                             line_thickness=line_thickness, text_thickness=text_thickness, font_scale=font_scale,
                             data_format="channels_last")
    if y_true is not None:
        plotted = draw(plotted, y_true, color=true_color, class_mapping=ground_truth_mapping)
    if y_pred is not None:
        plotted = draw(plotted, y_pred, color=pred_color, class_mapping=prediction_mapping)
    if legend:
        if legend_handles:
            raise ValueError("plot_bounding_box_gallery: pass `legend=True` or `legend_handles`, not both.")
        legend_handles = [patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
                          patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction")]
    return plot_image_gallery(plotted, value_range=value_range, legend_handles=legend_handles, rows=rows, cols=cols,
                              data_format="channels_last", **kwargs)


def plot_segmentation_mask_gallery(images, num_classes, value_range=(0, 255), y_true=None, y_pred=None,
                                   color_mapping=None, blend=True, alpha=0.8, ignore_index=-1, data_format=None,
                                   **kwargs):
    """One row per image: the image, then ``y_true`` and ``y_pred`` masks painted onto it (see
    `draw_segmentation_masks`). Further keyword arguments go to `plot_image_gallery`."""
    _pyplot("plot_segmentation_mask_gallery")
    data_format = data_format or config.image_data_format()
    shape = _batched("plot_segmentation_mask_gallery", images)
    if data_format == "channels_first":
        images = ops.transpose(ops.convert_to_tensor(images), (0, 2, 3, 1))
    images = np.asarray(ops.convert_to_numpy(images))
    draw = functools.partial(draw_segmentation_masks, num_classes=num_classes, color_mapping=color_mapping,
                             alpha=alpha, ignore_index=ignore_index, blend=blend, data_format="channels_last")
    drawn = []
    for masks in (y_true, y_pred):
        if masks is None:
            continue
        masks = np.asarray(ops.convert_to_numpy(masks))
        if data_format == "channels_first":
            masks = masks.transpose(0, 2, 3, 1)
        drawn.append(draw(images, masks.astype("int32")))
    gallery = [image for i in range(shape[0]) for image in [images[i]] + [d[i] for d in drawn]]
    return plot_image_gallery(np.stack(gallery, axis=0), value_range=value_range, rows=shape[0], cols=1 + len(drawn),
                              data_format="channels_last", **kwargs)
