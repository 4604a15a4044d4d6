"""Local tooling: an X-Ray daemon stand-in, a local AWS emulator, the trace view and the demo.

Nothing here is imported by the construct library or by the runtime layer; these
modules are for developing and testing traced applications on one machine.
"""
