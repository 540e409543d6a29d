"""Approval workflow (issue 4): definitions in ``workflows/*.yaml``, the engine that moves each accepted
invoice through its stages (``service``), deadlines and the scheduled reminder/escalation job
(``deadlines``, ``actors``), the clearing queue for unknown receivers, e-mail notices (``notify``) and
the workqueue API (``routes``). ``coding.CodingLine`` is shared with the exporters.
"""
