# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Figures of SimFLE's semantic masks, group maps and reconstructions."""
from .face_views import (build_face_view_pipeline, dataset_pipeline,
                         face_view_pipeline_cfg, find_images, load_face_views,
                         preprocess_face_views)
from .grids import (GroupMapsGrid, MaskGrid, make_group_maps_grid,
                    make_mask_grid, overlay_heat_map, render_group_maps_grid,
                    render_mask_grid)
from .mask_panels import (MASK_GREY, GroupMaps, MaskPanels,
                          compute_group_maps, compute_mask_panels, denormalize,
                          draw_group_ids, eval_mode, normalization_stats,
                          unnormalize_prediction)

__all__ = [
    'MASK_GREY', 'GroupMaps', 'GroupMapsGrid', 'MaskGrid', 'MaskPanels',
    'build_face_view_pipeline', 'compute_group_maps', 'compute_mask_panels',
    'dataset_pipeline', 'denormalize', 'draw_group_ids', 'eval_mode',
    'face_view_pipeline_cfg', 'find_images', 'load_face_views',
    'make_group_maps_grid', 'make_mask_grid', 'normalization_stats',
    'overlay_heat_map', 'preprocess_face_views', 'render_group_maps_grid',
    'render_mask_grid', 'unnormalize_prediction'
]
