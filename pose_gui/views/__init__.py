"""The panes of the main window; each is a QWidget built as ``Pane(state, parent)``."""
