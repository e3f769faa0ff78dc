"""Deterministic engines over the formats: cleaning (Polars) and quality reports."""
