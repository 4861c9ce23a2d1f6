"""Conversions between the core's values and outside representations (pandas, timeframes)."""
