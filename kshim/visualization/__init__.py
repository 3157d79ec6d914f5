"""kshim.visualization, as ``keras.visualization``: draw bounding boxes and segmentation masks onto images
(numpy), and plot galleries of images, boxes and masks (needs the optional ``matplotlib`` extra).

A public namespace at the top of the house: nothing inside kshim imports it."""

from kshim.visualization.drawing import draw_bounding_boxes, draw_segmentation_masks  # noqa: F401
from kshim.visualization.gallery import (plot_bounding_box_gallery, plot_image_gallery,  # noqa: F401
                                         plot_segmentation_mask_gallery)

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery", "plot_image_gallery",
           "plot_segmentation_mask_gallery"]
