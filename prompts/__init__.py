"""Prompt templates of the agents (their starting versions), loaded as package data."""
