"""Widgets, grouped by the area of the dashboard they show."""
