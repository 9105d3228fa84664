"""The engine glue around SpiffWorkflow: loading, running, serializing, lanes, timers, sandbox, signals.

Thin for now: the engine core (process definitions, instances, work items, audit) comes next.
"""
