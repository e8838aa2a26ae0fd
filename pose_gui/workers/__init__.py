"""Background threads and child processes: everything slow runs here, never on the GUI thread."""
