"""The counter app's window (PySide6). The only package that imports Qt."""
