"""Helpers shared by several test files (test files never import from one another)."""
