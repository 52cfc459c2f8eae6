"""Derived settings: one module per service, each rule written beside its code.

Every function takes a service's allocation (cpus, memory in MB) and returns its settings
as strings in the unit the service's own configuration uses.
"""
