"""The Intuned contract suite against the in-process mock."""

from contracts.intuned import StateMachine

TestIntunedContract = StateMachine.TestCase
