"""Analyses: plain functions on numpy arrays that turn samples into figures of merit."""
