"""Tests of what the hypervisors show a guest: probe and hostile guests with golden outputs."""
