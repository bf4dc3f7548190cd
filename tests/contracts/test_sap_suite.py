"""The SAP BTP Job Scheduling contract suite, run against the in-process mock."""

from contracts.sap import StateMachine

TestSapContract = StateMachine.TestCase
