"""Tests of the SQL store."""
