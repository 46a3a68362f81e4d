"""Learner-facing checks: the functions a lab's self-checks and hidden tests call to compare a learner's work
with the ground truth of the learner's own plant variant. One module per lab, named after the lab."""
