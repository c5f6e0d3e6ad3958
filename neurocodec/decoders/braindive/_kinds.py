"""Artifact kinds written by the BrainDiVE stages."""

from neurocodec.pipeline import register_kind

register_kind(
    "preferred_images",
    version=1,
    reader="neurocodec.pipeline:load_arrays",
    description="Brain-guided images per voxel target: images.npz (<target>, <target>_unguided (n, H, W, 3) "
    "uint8, <target>_top_ids) + summary.json (voxels, predicted responses, seeds) + grid.png.",
)
register_kind(
    "roi_reconstructions",
    version=1,
    reader="neurocodec.pipeline:load_arrays",
    description="ROI-optimal reconstructions per voxel target: images.npz (<target>_final, <target>_stage1 "
    "(n, H, W, 3) uint8, <target>_pattern (n_voxels,)) + summary.json + grid.png.",
)
