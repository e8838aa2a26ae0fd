"""Parts of the review pane: the frame viewer, trace plots, labelled-frames view and export helpers."""
