"""Local tooling for any CDK app: a local, traced AWS on one machine.

Nothing here is imported by the construct library or by the runtime layer; these
modules are for developing and testing traced applications on one machine
(``pip install 'cdk-lambda-xray[local]'``). The parts, each usable on its own:

- ``settings``: the local account, region, credentials and the one list of
  scrubbed environment variables;
- ``collector`` / ``collector_cli``: the X-Ray daemon stand-in (UDP);
- ``emulator``: MiniStack start/stop (with ``_ministack_boot``,
  ``ministack_tracing`` and ``lambda_segments`` for the hops and Lambda's own
  segments); ``localaws``: the collector and MiniStack together;
- ``deploy``: the pinned CDK CLI aimed at the emulator; ``readback``: the
  deployment compared with its template;
- ``client_trace``: the caller's segment; ``flows``: what an app is made to do
  and the trace each flow must produce;
- ``steps`` / ``runner`` / ``report``: the step runner behind ``demo``;
- ``traceview`` / ``tracemap`` / ``tracepage``: the trace trees, map and page;
- ``cli`` (``python -m cdk_lambda_xray local``) and ``demo`` (``... demo``):
  the commands. An app's own knowledge (stack, flows) lives with the app, in
  its ``demo_flows.py`` (see ``appdir``).
"""
