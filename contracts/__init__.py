"""jobmock's contract suites (Hypothesis, stateless and stateful)."""
