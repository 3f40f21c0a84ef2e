"""The Textual dashboard: screens, widgets and one stylesheet, on top of debugdash.core."""
