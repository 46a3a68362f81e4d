"""Grading around nbgrader: release, collect, grade, feedback, criteria coverage and competency reports."""
