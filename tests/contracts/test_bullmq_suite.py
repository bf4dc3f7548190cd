"""The BullMQ contract suite, run against the in-process mock."""

from contracts.bullmq import StateMachine

TestBullmqContract = StateMachine.TestCase
