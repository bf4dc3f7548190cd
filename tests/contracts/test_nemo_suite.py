"""The NeMo Jobs v2 contract suite against the in-process mock."""

from contracts.nemo import StateMachine

TestNemoContract = StateMachine.TestCase
