#!/usr/bin/env python
"""Workqueue listing and invoice search latency (p50/p95) on PostgreSQL with 100,000 and 1,000,000 invoices.

Run:  python benchmarks/bench_workqueue.py [--sizes 100000,1000000] [--quick] [--reps N] [--json FILE]

For each size a fresh database in a throw-away PostgreSQL cluster on 127.0.0.1 is migrated with the
real Alembic migrations (``einvoice.db.upgrade``: the indexes measured are the shipped ones), then
filled with synthetic but consistent data by set-based SQL (``INSERT … SELECT`` over
``generate_series``; secondary indexes dropped during the load and rebuilt from their exact
definitions, foreign-key triggers off while loading and the keys checked afterwards): invoices over
two years, 50 units, 2,000 sellers, realistic statuses, a workflow instance per invoice that entered
the workflow with its done, active or clearing tasks, staff, admins, suppliers, connectors and
substitutes. Every query goes through the real service functions — ``workflow.queries.list_tasks``
and ``ledger.service.search`` — in a fresh unit of work, one client, with random parameters; the
cases are interleaved in random order. Afterwards, index candidates for the slowest searches are
built in the same scratch database and the affected cases measured again, to show what they would
change (production code and migrations are untouched).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from bench_intake import BenchError  # noqa: E402
from bench_validation import fmt, machine_facts, percentile, print_table  # noqa: E402

from tests.services import create_database, missing_postgres, postgres_cluster  # noqa: E402

HOST = "127.0.0.1"
SPAN_DAYS = 730  # invoices were received over the last two years
UNITS = 50
PUBLIC_UNITS = 30  # units 1..30 use public-sector.yaml, 31..50 company.yaml
SELLERS = 2000
CLERKS_PER_UNIT = 4
APPROVERS_PER_UNIT = 2
ADMINS = 3
SUBSTITUTIONS_TODAY = 15  # cross-unit Vertretungen valid today (and 5 expired ones)
STATUSES = ("in_approval", "approved", "exported", "paid", "rejected", "accepted", "duplicate_suspected")

FAMILIES = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
            "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
            "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
            "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann",
            "König", "Walter", "Mayer", "Huber"]
TRADES = ["Bau", "Elektro", "Bürobedarf", "IT-Service", "Gebäudereinigung", "Gartenbau", "Druckerei",
          "Haustechnik", "Sanitär", "Dachdeckerei", "Malerbetrieb", "Logistik", "Catering", "Sicherheitsdienst",
          "Energie", "Medizintechnik", "Fahrzeugtechnik", "Beratung", "Software", "Möbel", "Tiefbau",
          "Schreinerei", "Straßenbau", "Kommunikation", "Umwelttechnik"]
LEGAL_FORMS = ["GmbH", "AG", "GmbH & Co. KG", "KG", "e.K."]


# ------------------------------------------------------------------ schema and bulk load


def users_sql() -> list[tuple[str, str]]:
    """Units, their workflow settings, staff, admins, connectors, suppliers and substitutes (ids are
    md5 of a readable key, so the bulk SQL below can refer to them without lookups)."""
    staff = []
    for role, count in (("clerk", CLERKS_PER_UNIT), ("approver", APPROVERS_PER_UNIT)):
        staff.append(f"""
            INSERT INTO users (id, name, role, unit_id, email, password_hash, active, created_at)
            SELECT md5('user:{role}-u' || lpad(u::text, 2, '0') || '-' || k), '{role}-u' || lpad(u::text, 2, '0')
                   || '-' || k, '{role}', md5('unit:' || u), '{role}' || u || '.' || k || '@example.org', NULL, true,
                   now()
            FROM generate_series(1, {UNITS}) u, generate_series(1, {count}) k""")
    return [
        ("units", f"""
            INSERT INTO units (id, name, leitweg_id, created_at)
            SELECT md5('unit:' || u), 'Dienststelle ' || lpad(u::text, 2, '0'),
                   '991-' || (10000 + u) || '-' || lpad((u % 90 + 10)::text, 2, '0'), now()
            FROM generate_series(1, {UNITS}) u"""),
        ("staff", ";".join(staff)),
        ("admins, connectors, suppliers", f"""
            INSERT INTO users (id, name, role, unit_id, email, password_hash, active, created_at)
            SELECT md5('user:admin-' || k), 'admin-' || k, 'admin', NULL, NULL, NULL, true, now()
            FROM generate_series(1, {ADMINS}) k
            UNION ALL
            SELECT md5('user:' || c || '-connector'), c || '-connector', 'connector', NULL, NULL, NULL, true, now()
            FROM unnest(ARRAY['peppol', 'mail']) c
            UNION ALL
            SELECT md5('user:supplier-' || lpad(s::text, 4, '0')), 'supplier-' || lpad(s::text, 4, '0'), 'supplier',
                   NULL, 'billing' || s || '@supplier.example', NULL, true, now()
            FROM generate_series(0, {SELLERS - 1}) s"""),
        ("unit settings", f"""
            INSERT INTO workflow_units (unit_id, workflow, buyer_reference, lead_user_id, updated_at)
            SELECT md5('unit:' || u), CASE WHEN u <= {PUBLIC_UNITS} THEN 'public-sector' ELSE 'company' END, NULL,
                   md5('user:approver-u' || lpad(u::text, 2, '0') || '-1'), now()
            FROM generate_series(1, {UNITS}) u"""),
        ("substitutes", f"""
            INSERT INTO workflow_substitutes (id, absent_user_id, substitute_user_id, valid_from, valid_to,
                                              created_by, created_at)
            SELECT md5('sub:' || u), md5('user:clerk-u' || lpad(u::text, 2, '0') || '-1'),
                   md5('user:clerk-u' || lpad((u %% {UNITS} + 1)::text, 2, '0') || '-2'),
                   CASE WHEN u <= {SUBSTITUTIONS_TODAY} THEN %(today)s::date - 3 ELSE %(today)s::date - 60 END,
                   CASE WHEN u <= {SUBSTITUTIONS_TODAY} THEN %(today)s::date + 4 ELSE %(today)s::date - 40 END,
                   'admin-1', now()
            FROM generate_series(1, {SUBSTITUTIONS_TODAY + 5}) u"""),
    ]


SEED_SQL = """
CREATE UNLOGGED TABLE bench_seed AS
WITH base AS (
    SELECT g,
           (%(n)s - g)::float8 * %(span)s / %(n)s + random() * 0.9 AS age,  -- days before "now"; g = n is newest
           1 + floor(random() * %(units)s)::int AS unit_no,
           floor(%(sellers)s * power(random(), 2))::int AS seller_no,       -- few sellers send much
           random() AS r_status, random() AS r_tail, random() AS r_send, random() AS r_term, random() AS r_sk,
           random() AS r_amt, random() AS r_pos, random() AS r_claim, random() AS r_issue
    FROM generate_series(1, %(n)s) AS g
), classified AS (
    -- the share still in approval falls from 70 %% (received today) to 0 at 60 days; 0.5 %% hang on for 8 months
    SELECT b.*, CASE WHEN age < 60 THEN 0.7 * (1 - age / 60) WHEN age < 240 THEN 0.005 ELSE 0 END AS p_ia
    FROM base b
), statused AS (
    SELECT c.*,
           CASE WHEN r_status < p_ia THEN 'in_approval'
                WHEN r_status < p_ia + 0.045 THEN 'rejected'
                WHEN r_status < p_ia + 0.055 THEN 'duplicate_suspected'
                WHEN r_status < p_ia + 0.056 THEN 'failed'
                WHEN age < 30 AND r_status < p_ia + 0.066 THEN 'accepted'  -- waits in the clearing queue
                WHEN age < 10 AND r_tail < 0.4 THEN 'approved'
                WHEN age < 45 AND r_tail < 0.6 THEN 'exported'
                WHEN age < 45 THEN 'paid'
                WHEN r_tail < 0.05 THEN 'exported'
                ELSE 'paid' END AS status,
           %(now)s::timestamptz - age * interval '1 day' AS received_at,
           round(exp(3 + r_amt * 7.5)::numeric, 2) AS gross
    FROM classified c
), dated AS (
    SELECT s.*,
           (received_at - r_issue * 5 * interval '1 day')::date AS issue_date,
           (ARRAY[14, 30, 30, 30, 45, 60])[1 + floor(r_term * 6)::int] AS terms,
           CASE WHEN r_sk < 0.3 THEN (ARRAY[10, 14, 14, 21, 30])[1 + floor(r_sk / 0.3 * 5)::int] END AS skonto_days,
           CASE WHEN unit_no <= %(public_units)s THEN 'public-sector' ELSE 'company' END AS wf,
           (%(families)s::text[])[1 + seller_no %% 40] || ' ' || (%(trades)s::text[])[1 + (seller_no / 40) %% 25]
             || ' ' || (%(legal)s::text[])[1 + (seller_no / 1000 + seller_no) %% 5] AS seller_name,
           status = 'rejected' AND r_tail >= 0.6 AS wf_rejected  -- else rejected by validation (no workflow)
    FROM statused s
), shaped AS (
    SELECT d.*,
           issue_date + terms AS due_date,
           CASE WHEN skonto_days < terms THEN issue_date + skonto_days END AS skonto_date,
           CASE WHEN wf = 'public-sector' THEN 3 WHEN gross < 250 THEN 1 WHEN gross > 5000 THEN 3 ELSE 2 END
             AS n_total
    FROM dated d
), positioned AS (
    SELECT x.*, floor(r_pos * n_total)::int AS pos FROM shaped x
)
SELECT p.*, md5('inv:' || g) AS id,
       CASE WHEN status = 'in_approval' OR wf_rejected THEN pos + 1
            WHEN status = 'accepted' THEN 1
            WHEN status IN ('approved', 'exported', 'paid') THEN n_total
            ELSE 0 END AS n_tasks,
       CASE WHEN status = 'in_approval' THEN age * 0.9 / (pos + 1)
            ELSE least(1 + 4 * r_claim, age * 0.9 / greatest(n_total, 1)) END AS gap_days
FROM positioned p
"""

INVOICES_SQL = """
INSERT INTO invoices (id, received_at, channel, sender, filename, content_type, sha256, size, status, container,
                      syntax, scenario, profile, accepted, validation, validated_at, invoice_number, issue_date,
                      seller_name, seller_key, buyer_reference, currency, gross_amount, amount_due, due_date, data,
                      duplicate_of, unit_id, attempts, last_error, enqueued_at, updated_at)
SELECT id, received_at,
       CASE WHEN r_send < 0.35 THEN 'peppol' WHEN r_send < 0.5 THEN 'mail' ELSE 'api' END,
       CASE WHEN r_send < 0.35 THEN md5('user:peppol-connector') WHEN r_send < 0.5 THEN md5('user:mail-connector')
            ELSE md5('user:supplier-' || lpad(seller_no::text, 4, '0')) END,
       'invoice-' || g || '.xml', 'application/xml', md5('sha:' || g) || md5('sha2:' || g),
       6000 + (r_amt * 40000)::int, status, 'xml', syntax, v.scenario, 'XRechnung 3.0',
       CASE WHEN status = 'failed' THEN NULL ELSE status <> 'rejected' OR wf_rejected END,
       CASE WHEN status <> 'failed' THEN json_build_object(
           'accepted', status <> 'rejected' OR wf_rejected, 'scenario', v.scenario, 'syntax', syntax,
           'steps', json_build_array(
               json_build_object('kind', 'xsd', 'ok', true),
               json_build_object('kind', 'schematron', 'ok', status <> 'rejected' OR wf_rejected)),
           'findings', CASE WHEN status = 'rejected' AND NOT wf_rejected
                            THEN json_build_array(json_build_object('rule', 'BR-DE-15', 'level', 'error',
                                                                    'message', 'Buyer reference missing'))
                            ELSE json_build_array() END) END,
       CASE WHEN status <> 'failed' THEN received_at + interval '2 seconds' END,
       e.number, e.issue_date, e.seller_name, e.seller_key, e.buyer_reference, e.currency, e.gross, e.gross,
       e.due_date,
       CASE WHEN status <> 'failed' THEN json_build_object(
           'number', e.number, 'issue_date', e.issue_date, 'currency', 'EUR', 'buyer_reference', e.buyer_reference,
           'due_date', e.due_date,
           'seller', json_build_object('name', e.seller_name, 'vat_id', e.seller_key,
                                       'address', json_build_object('city', 'Berlin', 'country', 'DE')),
           'payment_terms', json_build_object(
               'text', 'Zahlbar innerhalb ' || terms || ' Tagen',
               'skonto', CASE WHEN skonto_date IS NOT NULL THEN json_build_array(json_build_object(
                   'days', skonto_days, 'percent', '2.00', 'base_amount', s.gross::text)) ELSE json_build_array() END),
           'totals', json_build_object('net', round(s.gross / 1.19, 2)::text,
                                       'vat', (s.gross - round(s.gross / 1.19, 2))::text,
                                       'gross', s.gross::text, 'amount_due', s.gross::text),
           'vat_breakdown', json_build_array(json_build_object('category', 'S', 'rate', '19',
                                                               'base', round(s.gross / 1.19, 2)::text)),
           'payee_iban', 'DE0250010517' || lpad((seller_no * 7)::text, 10, '0')) END,
       CASE WHEN status = 'duplicate_suspected' AND g > 1 THEN md5('inv:' || (g - 1)) END,
       CASE WHEN status IN ('accepted', 'failed') THEN NULL ELSE md5('unit:' || unit_no) END,
       1, CASE WHEN status = 'failed' THEN 'bench: processing kept failing' END, received_at,
       received_at + least(n_tasks * gap_days, age) * interval '1 day'
FROM bench_seed s
CROSS JOIN LATERAL (SELECT CASE WHEN g %% 3 = 0 THEN 'CII' ELSE 'UBL' END AS syntax) y
CROSS JOIN LATERAL (SELECT 'xrechnung_3.0_' || lower(y.syntax) AS scenario) v
CROSS JOIN LATERAL (
    SELECT CASE WHEN status = 'failed' THEN NULL
                ELSE 'RE-' || to_char(s.issue_date, 'YYYY') || '-' || lpad(g::text, 7, '0') END AS number,
           CASE WHEN status <> 'failed' THEN s.issue_date END AS issue_date,
           CASE WHEN status <> 'failed' THEN s.seller_name END AS seller_name,
           CASE WHEN status <> 'failed' THEN 'DE' || (100000000 + seller_no * 7919) END AS seller_key,
           CASE WHEN status = 'failed' THEN NULL
                WHEN status = 'accepted' THEN '991-' || (90000 + g %% 1000) || '-99'  -- names no unit: clearing
                ELSE '991-' || (10000 + unit_no) || '-' || lpad((unit_no %% 90 + 10)::text, 2, '0') END
             AS buyer_reference,
           CASE WHEN status <> 'failed' THEN 'EUR' END AS currency,
           CASE WHEN status <> 'failed' THEN s.gross END AS gross,
           CASE WHEN status <> 'failed' THEN s.due_date END AS due_date
) e
"""

INSTANCES_SQL = """
INSERT INTO workflow_instances (id, invoice_id, definition_id, unit_id, status, stage, stage_index, coding,
                                coding_version, data_digest, clearing_reason, rejection_reason, due_date, due_source,
                                skonto_date, skonto_percent, skonto_amount, started_at, finished_at, updated_at)
SELECT md5('wfi:' || g), s.id,
       CASE WHEN status = 'accepted' THEN NULL WHEN s.wf = 'public-sector' THEN %(def_public)s ELSE %(def_company)s END,
       CASE WHEN status = 'accepted' THEN NULL ELSE md5('unit:' || unit_no) END,
       CASE WHEN status = 'in_approval' THEN 'running' WHEN status = 'accepted' THEN 'clearing'
            WHEN wf_rejected THEN 'rejected' ELSE 'approved' END,
       CASE WHEN status = 'accepted' THEN 'clearing' WHEN status = 'in_approval' OR wf_rejected THEN st.stage
            ELSE 'export' END,
       CASE WHEN status = 'accepted' THEN 0 WHEN status = 'in_approval' OR wf_rejected THEN st.stage_index
            WHEN s.wf = 'public-sector' THEN 3 ELSE 2 END,
       CASE WHEN coded THEN json_build_array(json_build_object(
           'account', CASE WHEN s.wf = 'public-sector' THEN '5431' ELSE '4930' END,
           'cost_center', 'KST-' || lpad(unit_no::text, 3, '0'),
           'budget_line', CASE WHEN s.wf = 'public-sector' THEN '1.1.1.01.' || unit_no END,
           'tax_key', '9', 'amount', NULL, 'vat_rate', '19', 'text', left(seller_name, 40))) END,
       CASE WHEN coded THEN 1 ELSE 0 END,
       md5('data:' || g) || md5('data2:' || g),
       CASE WHEN status = 'accepted' THEN 'no unit has the Leitweg-ID of this invoice' END,
       CASE WHEN wf_rejected THEN 'Leistung nicht vollständig erbracht' END,
       due_date, CASE WHEN g %% 10 = 0 THEN 'BT-9' ELSE 'payment terms (days)' END,
       CASE WHEN status IN ('in_approval', 'accepted') AND skonto_date < %(today)s THEN NULL ELSE skonto_date END,
       CASE WHEN skonto_date IS NOT NULL THEN 2.0 END,
       CASE WHEN skonto_date IS NOT NULL THEN round(gross * 0.02, 2) END,
       received_at + interval '3 seconds',
       CASE WHEN status IN ('approved', 'exported', 'paid') OR wf_rejected
            THEN received_at + n_tasks * gap_days * interval '1 day' END,
       received_at + least(n_tasks * gap_days, age) * interval '1 day'
FROM bench_seed s
CROSS JOIN LATERAL (SELECT status IN ('approved', 'exported', 'paid') OR (pos >= 1 AND status <> 'accepted') AS coded) c
LEFT JOIN bench_stages st ON st.wf = s.wf AND st.n_total = s.n_total AND st.pos = s.pos
WHERE n_tasks > 0
"""

APPROVAL_TASKS_SQL = """
INSERT INTO workflow_tasks (id, instance_id, invoice_id, kind, stage, stage_title, approval_no, roles, unit_id, status,
                            assignee_id, created_at, claimed_at, deadline, due_date, skonto_date, decision,
                            decided_by, on_behalf_of, decided_at, comment, valid, discarded_at, reminded_at,
                            escalated_at, escalated_to)
SELECT md5('task:' || g || ':' || p.pos), md5('wfi:' || g), s.id, 'approval', p.stage, p.title, p.approval_no,
       p.roles, md5('unit:' || unit_no),
       CASE WHEN a.active THEN 'active' ELSE 'done' END,
       CASE WHEN NOT a.active OR r_claim < 0.35 THEN a.actor END,
       a.created,
       CASE WHEN a.active AND r_claim < 0.35 THEN least(a.created + interval '2 hours', %(now)s::timestamptz) END,
       CASE WHEN k.skonto >= k.from_day AND k.skonto < due_date THEN k.skonto ELSE due_date END,
       due_date, k.skonto,
       CASE WHEN a.active THEN NULL WHEN a.rejects THEN 'reject' ELSE 'approve' END,
       CASE WHEN a.active THEN NULL ELSE a.actor END,
       NULL,
       CASE WHEN a.active THEN NULL ELSE a.created + gap_days * interval '1 day' END,
       CASE WHEN a.rejects THEN 'Leistung nicht vollständig erbracht' END,
       CASE WHEN NOT a.active AND NOT a.rejects THEN true END,
       NULL,
       CASE WHEN a.active AND k.skonto BETWEEN %(today)s AND %(today)s::date + 3 THEN %(now)s::timestamptz END,
       CASE WHEN a.active AND due_date < %(today)s::date - 2 THEN (due_date + 1)::timestamptz + interval '6 hours' END,
       CASE WHEN a.active AND due_date < %(today)s::date - 2
            THEN md5('user:approver-u' || lpad(unit_no::text, 2, '0') || '-1') END
FROM bench_seed s
JOIN bench_stages p ON p.wf = s.wf AND p.n_total = s.n_total AND p.pos < s.n_tasks
CROSS JOIN LATERAL (
    SELECT s.status = 'in_approval' AND p.pos = s.pos AS active,
           s.wf_rejected AND p.pos = s.pos AS rejects,
           s.received_at + interval '3 seconds' + p.pos * s.gap_days * interval '1 day' AS created,
           CASE WHEN p.actor = 'clerk'
                THEN md5('user:clerk-u' || lpad(unit_no::text, 2, '0') || '-' || ((g + p.pos) %% 4 + 1))
                ELSE md5('user:approver-u' || lpad(unit_no::text, 2, '0') || '-' || ((g + p.pos) %% 2 + 1)) END
             AS actor
) a
CROSS JOIN LATERAL (
    -- active tasks: an expired Skonto date has been rolled away (NULL), the deadline is the due date
    SELECT CASE WHEN a.active AND s.skonto_date < %(today)s THEN NULL ELSE s.skonto_date END AS skonto,
           CASE WHEN a.active THEN %(today)s::date ELSE a.created::date END AS from_day
) k
WHERE s.n_tasks > 0 AND s.status <> 'accepted'
"""

CLEARING_TASKS_SQL = """
INSERT INTO workflow_tasks (id, instance_id, invoice_id, kind, stage, stage_title, approval_no, roles, unit_id, status,
                            assignee_id, created_at, claimed_at, deadline, due_date, skonto_date, decision,
                            decided_by, on_behalf_of, decided_at, comment, valid, discarded_at, reminded_at,
                            escalated_at, escalated_to)
SELECT md5('task:' || g || ':0'), md5('wfi:' || g), id, 'clearing', 'clearing', %(title)s, 1, 'admin', NULL, 'active',
       NULL, received_at + interval '3 seconds', NULL,
       CASE WHEN skonto_date >= %(today)s AND skonto_date < due_date THEN skonto_date ELSE due_date END,
       due_date, CASE WHEN skonto_date >= %(today)s THEN skonto_date END, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL,
       CASE WHEN due_date < %(today)s::date - 2 THEN (due_date + 1)::timestamptz + interval '6 hours' END,
       CASE WHEN due_date < %(today)s::date - 2 THEN md5('user:admin-1') END
FROM bench_seed WHERE status = 'accepted'
"""

CONSISTENCY_SQL = {
    "invoices without unit row": "SELECT count(*) FROM invoices i WHERE i.unit_id IS NOT NULL AND NOT EXISTS "
                                 "(SELECT 1 FROM units u WHERE u.id = i.unit_id)",
    "invoices with unknown sender": "SELECT count(*) FROM invoices i WHERE NOT EXISTS "
                                    "(SELECT 1 FROM users u WHERE u.id = i.sender)",
    "instances without invoice": "SELECT count(*) FROM workflow_instances w WHERE NOT EXISTS "
                                 "(SELECT 1 FROM invoices i WHERE i.id = w.invoice_id)",
    "tasks without instance": "SELECT count(*) FROM workflow_tasks t WHERE NOT EXISTS "
                              "(SELECT 1 FROM workflow_instances w WHERE w.id = t.instance_id "
                              "AND w.invoice_id = t.invoice_id)",
    "tasks with unknown people": "SELECT count(*) FROM workflow_tasks t WHERE " + " OR ".join(
        f"(t.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.{c}))"
        for c in ("assignee_id", "decided_by", "escalated_to")),
    "in_approval invoices without exactly one active task":
        "SELECT count(*) FROM invoices i WHERE i.status = 'in_approval' AND (SELECT count(*) FROM workflow_tasks t "
        "WHERE t.invoice_id = i.id AND t.status = 'active') <> 1",
    "active tasks of invoices not in approval or clearing":
        "SELECT count(*) FROM workflow_tasks t JOIN invoices i ON i.id = t.invoice_id WHERE t.status = 'active' "
        "AND i.status NOT IN ('in_approval', 'accepted')",
    "deadline after due date": "SELECT count(*) FROM workflow_tasks WHERE deadline > due_date",
}

LOADED_TABLES = ("invoices", "workflow_instances", "workflow_tasks")


def stage_rows() -> list[tuple[str, int, int, str, str, str, int, int, str]]:
    """(workflow, stages needed, position, stage, title, roles, approval_no, stage_index, actor) from the
    shipped definitions: public-sector always 3 approvals; company 1 (below the small-amount limit),
    2, or 3 (a second approver above the limit)."""
    from einvoice.workflow.definitions import registry

    definitions = registry(ROOT / "workflows")
    rows = []
    public = [s for s in definitions.get("public-sector").stages if s.kind != "export"]
    for pos, stage in enumerate(public):
        rows.append(("public-sector", 3, pos, stage.id, stage.title, ",".join(stage.roles), 1, pos,
                     "approver" if list(stage.roles) == ["approver"] else "clerk"))
    company = [s for s in definitions.get("company").stages if s.kind != "export"]
    first, release = company[0], company[1]
    shapes = {1: [(first, 1, 1)], 2: [(first, 1, 1), (release, 1, 1)],
              3: [(first, 1, 1), (release, 1, 2), (release, 2, 2)]}
    for n_total, steps in shapes.items():
        for pos, (stage, number, needed) in enumerate(steps):
            title = stage.title if needed == 1 else f"{stage.title} ({number}/{needed})"
            rows.append(("company", n_total, pos, stage.id, title, ",".join(stage.roles), number,
                         company.index(stage), "approver" if list(stage.roles) == ["approver"] else "clerk"))
    return rows


def definition_ids(url: str) -> dict[str, str]:
    """The two definition snapshots, stored the way the engine stores them (name, version, digest, body)."""
    from sqlalchemy.orm import sessionmaker

    from einvoice.db import UnitOfWork, make_engine
    from einvoice.workflow.definitions import registry
    from einvoice.workflow.models import DefinitionSnapshot

    engine = make_engine(url)
    try:
        with UnitOfWork(sessionmaker(bind=engine)) as uow:
            ids = {}
            for name in ("public-sector", "company"):
                definition = registry(ROOT / "workflows").get(name)
                row = DefinitionSnapshot(name=definition.name, version=definition.version,
                                         digest=definition.digest(), body=definition.body())
                uow.session.add(row)
                uow.session.flush()
                ids[name] = row.id
            uow.commit()
            return ids
    finally:
        engine.dispose()


def connect(port: int, dbname: str) -> Any:
    import psycopg

    return psycopg.connect(host=HOST, port=port, user="postgres", dbname=dbname, autocommit=True)


def load(port: int, dbname: str, url: str, n: int, today: date, seed: float) -> dict[str, float]:
    """Fill the migrated database; returns seconds per step."""
    from einvoice.workflow.service import CLEARING_TITLE

    timings: dict[str, float] = {}
    defs = definition_ids(url)
    now = datetime(today.year, today.month, today.day, tzinfo=UTC)
    with connect(port, dbname) as conn:

        def step(label: str, sql: str, params: dict[str, Any] | None = None) -> None:
            t0 = time.perf_counter()
            for statement in sql.split(";") if params is None else [sql]:
                if statement.strip():
                    conn.execute(statement, params)
            timings[label] = time.perf_counter() - t0
            print(f"    {label}: {timings[label]:.1f} s", flush=True)

        for setting in ("SET TimeZone = 'UTC'", "SET session_replication_role = replica",
                        "SET maintenance_work_mem = '512MB'", "SET max_parallel_maintenance_workers = 2",
                        "SET work_mem = '256MB'", "SET synchronous_commit = off"):
            conn.execute(setting)
        conn.execute("SELECT setseed(%s)", (seed,))
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = 'public' AND tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY indexname",
            (list(LOADED_TABLES),)).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for label, sql in users_sql():
            step(label, sql, {"today": today} if "%(today)s" in sql else None)
        conn.execute("CREATE UNLOGGED TABLE bench_stages (wf text, n_total int, pos int, stage text, title text, "
                     "roles text, approval_no int, stage_index int, actor text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bench_stages VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", stage_rows())
        params = {"n": n, "span": SPAN_DAYS, "units": UNITS, "sellers": SELLERS, "public_units": PUBLIC_UNITS,
                  "now": now, "today": today, "families": FAMILIES, "trades": TRADES, "legal": LEGAL_FORMS,
                  "def_public": defs["public-sector"], "def_company": defs["company"], "title": CLEARING_TITLE}
        step("seed (generate_series)", SEED_SQL, params)
        step("invoices", INVOICES_SQL, params)
        step("workflow instances", INSTANCES_SQL, params)
        step("approval tasks", APPROVAL_TASKS_SQL, params)
        step("clearing tasks", CLEARING_TASKS_SQL, params)
        t0 = time.perf_counter()
        for _, definition in indexes:
            conn.execute(definition)
        timings["rebuild indexes"] = time.perf_counter() - t0
        print(f"    rebuild {len(indexes)} secondary indexes: {timings['rebuild indexes']:.1f} s", flush=True)
        conn.execute("DROP TABLE bench_seed")
        conn.execute("DROP TABLE bench_stages")
        conn.execute("SET session_replication_role = DEFAULT")
        step("vacuum analyze", "VACUUM (ANALYZE) invoices; VACUUM (ANALYZE) workflow_instances; "
                               "VACUUM (ANALYZE) workflow_tasks; ANALYZE")
        t0 = time.perf_counter()
        problems = {label: conn.execute(sql).fetchone()[0] for label, sql in CONSISTENCY_SQL.items()}
        timings["consistency check"] = time.perf_counter() - t0
        bad = {k: v for k, v in problems.items() if v}
        if bad:
            raise BenchError(f"generated data is inconsistent: {bad}")
        print(f"    consistency check (foreign keys, one active task per invoice in approval, deadlines): ok "
              f"({timings['consistency check']:.1f} s)", flush=True)
    return timings


# ------------------------------------------------------------------ what was loaded


def data_facts(port: int, dbname: str, today: date) -> dict[str, Any]:
    with connect(port, dbname) as conn:
        tables = {}
        for table in ("invoices", "workflow_instances", "workflow_tasks", "users", "units", "workflow_substitutes"):
            rows, heap, idx, total = conn.execute(
                f"SELECT count(*), pg_relation_size('{table}'), pg_indexes_size('{table}'), "
                f"pg_total_relation_size('{table}') FROM {table}").fetchone()
            tables[table] = {"rows": rows, "table_bytes": heap, "index_bytes": idx, "total_bytes": total}
        index_sizes = dict(conn.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname IN ('invoices', 'workflow_tasks') "
            "ORDER BY t.relname, c.relname").fetchall())
        statuses = dict(conn.execute("SELECT status, count(*) FROM invoices GROUP BY 1 ORDER BY 2 DESC").fetchall())
        tasks = dict(conn.execute("SELECT kind || '/' || status, count(*) FROM workflow_tasks GROUP BY 1").fetchall())
        active = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE assignee_id IS NOT NULL), "
            "count(*) FILTER (WHERE due_date < %(d)s), "
            "count(*) FILTER (WHERE skonto_date BETWEEN %(d)s AND %(d)s::date + 7), "
            "count(*) FILTER (WHERE skonto_date IS NOT NULL), count(*) FILTER (WHERE escalated_to IS NOT NULL), "
            "percentile_disc(ARRAY[0.05, 0.5, 0.95]) WITHIN GROUP (ORDER BY deadline - %(d)s::date), "
            "percentile_disc(ARRAY[0.05, 0.5, 0.95]) WITHIN GROUP (ORDER BY skonto_date - %(d)s::date) "
            "FROM workflow_tasks WHERE status = 'active' AND kind = 'approval'", {"d": today}).fetchone()
        per_unit = conn.execute(
            "SELECT min(c), round(avg(c)), max(c) FROM (SELECT count(*) c FROM workflow_tasks "
            "WHERE status = 'active' AND unit_id IS NOT NULL GROUP BY unit_id) x").fetchone()
        db_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {
        "tables": tables, "index_bytes": index_sizes, "database_bytes": db_bytes, "invoice_statuses": statuses,
        "tasks": tasks,
        "active_approval_tasks": {"total": active[0], "claimed": active[1], "overdue": active[2],
                                  "skonto_within_7_days": active[3], "with_skonto": active[4],
                                  "escalated": active[5], "deadline_days_p5_p50_p95": active[6],
                                  "skonto_days_p5_p50_p95": active[7],
                                  "per_unit_min_avg_max": [int(v) for v in per_unit]},
    }


def print_data_facts(n: int, facts: dict[str, Any]) -> None:
    rows = [[table, f"{t['rows']:,}", mib(t["table_bytes"]), mib(t["index_bytes"]), mib(t["total_bytes"])]
            for table, t in facts["tables"].items()]
    print_table(f"Data, N = {n:,} (database {mib(facts['database_bytes'])} MiB)",
                ["table", "rows", "table MiB", "indexes MiB", "total MiB"], rows)
    print("  invoice statuses: " + ", ".join(f"{k} {v:,}" for k, v in facts["invoice_statuses"].items()))
    print("  tasks: " + ", ".join(f"{k} {v:,}" for k, v in sorted(facts["tasks"].items())))
    a = facts["active_approval_tasks"]
    print(f"  active approval tasks: {a['total']:,} ({a['claimed']:,} claimed, {a['overdue']:,} overdue, "
          f"{a['escalated']:,} escalated, {a['with_skonto']:,} with a Skonto date, {a['skonto_within_7_days']:,} "
          f"with Skonto within 7 days); per unit min/avg/max {a['per_unit_min_avg_max']}; deadline - today in days "
          f"p5/p50/p95 {a['deadline_days_p5_p50_p95']}, Skonto date - today {a['skonto_days_p5_p50_p95']}")
    print("  index sizes MiB: " + ", ".join(f"{k} {mib(v)}" for k, v in facts["index_bytes"].items()))


def mib(value: float) -> str:
    return f"{value / 2**20:,.1f}"


# ------------------------------------------------------------------ the measured calls


class Recorder:
    """Keeps the SQL of the current call (SQLAlchemy ``before_cursor_execute``), to EXPLAIN it later."""

    def __init__(self) -> None:
        self.active = False
        self.statements: list[tuple[str, Any]] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                 executemany: bool) -> None:
        if self.active:
            self.statements.append((statement, parameters))

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        self.statements = []
        self.active = True
        try:
            yield
        finally:
            self.active = False

    def main(self) -> tuple[str, Any] | None:
        """The paginated query: the last statement with ORDER BY … LIMIT."""
        for statement, parameters in reversed(self.statements):
            if "ORDER BY" in statement and "LIMIT" in statement:
                return statement, parameters
        return None


Call = Callable[[Any], int]  # runs in a unit of work, returns the number of rows on the page


@dataclass
class Case:
    key: str
    label: str
    prepare: Callable[[random.Random], Call]  # picks random parameters (untimed), returns the timed call


@dataclass
class CaseStats:
    ms: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    spent: float = 0.0
    slowest: tuple[float, tuple[str, Any] | None] = (-1.0, None)

    def add(self, seconds: float, rows: int, sql: tuple[str, Any] | None) -> None:
        self.ms.append(seconds * 1000)
        self.rows.append(rows)
        self.spent += seconds
        if seconds * 1000 > self.slowest[0]:
            self.slowest = (seconds * 1000, sql)

    def summary(self) -> dict[str, Any]:
        return {"reps": len(self.ms), "p50_ms": percentile(self.ms, 50), "p95_ms": percentile(self.ms, 95),
                "p99_ms": percentile(self.ms, 99), "mean_ms": statistics.fmean(self.ms) if self.ms else float("nan"),
                "max_ms": max(self.ms, default=float("nan")),
                "rows_mean": statistics.fmean(self.rows) if self.rows else float("nan"),
                "empty_pages": sum(1 for r in self.rows if r == 0)}


@dataclass
class Pools:
    """Random parameters drawn from the loaded data."""

    staff: list[Any]  # clerks and approvers (User rows, detached)
    admins: list[Any]
    suppliers: list[Any]
    samples: list[tuple[str, str, str]]  # (invoice_number, unit_id, seller_name) of random invoices
    unit_staff: dict[str, list[Any]]
    first_day: date
    today: date


def load_pools(factory: Any, today: date) -> Pools:
    from sqlalchemy import func, select, text

    from einvoice.accounts.models import User
    from einvoice.db import UnitOfWork
    from einvoice.ledger.models import Invoice

    with UnitOfWork(factory) as uow:
        users = list(uow.session.scalars(select(User)))
        count = uow.session.scalar(select(func.count()).select_from(Invoice)) or 1
        samples = [(n, u, s) for n, u, s in uow.session.execute(text(
            "SELECT invoice_number, unit_id, seller_name FROM invoices WHERE random() < :p AND unit_id IS NOT NULL "
            "AND invoice_number IS NOT NULL LIMIT 2000"), {"p": min(1.0, 4000 / count)})]
        first = uow.session.scalar(select(func.min(Invoice.received_at)))
    staff = [u for u in users if u.role in ("clerk", "approver")]
    unit_staff: dict[str, list[Any]] = {}
    for user in staff:
        unit_staff.setdefault(user.unit_id or "", []).append(user)
    return Pools(staff=staff, admins=[u for u in users if u.role == "admin"],
                 suppliers=[u for u in users if u.role == "supplier"], samples=samples, unit_staff=unit_staff,
                 first_day=first.date() if first else today - timedelta(days=SPAN_DAYS), today=today)


def date_window(pools: Pools, rng: random.Random) -> tuple[date, date]:
    """A random 30-day issue-date window inside the loaded period."""
    span = (pools.today - pools.first_day).days - 30
    start = pools.first_day + timedelta(days=rng.randrange(max(span, 1)))
    return start, start + timedelta(days=30)


def make_cases(pools: Pools, clock: Any, factory: Any, *, admin_search: bool = True) -> list[Case]:
    from einvoice.accounts.service import visibility_for
    from einvoice.db import UnitOfWork
    from einvoice.ledger import service as ledger
    from einvoice.workflow import queries, views
    from einvoice.workflow.queries import TaskFilter

    def tasks(filt: TaskFilter, who: Callable[[random.Random], Any], *, page: int = 1, view: bool = False,
              sort: str = "deadline", descending: bool = False) -> Callable[[random.Random], Call]:
        def prepare(rng: random.Random) -> Call:
            user_id = who(rng).id
            cursor = None
            if page > 1:  # the earlier pages are fetched untimed; only the asked page is measured
                for _ in range(page - 1):
                    with UnitOfWork(factory) as uow:
                        _, cursor = queries.list_tasks(uow, user_id, filt, cursor=cursor, clock=clock)
                    if cursor is None:
                        break

            def call(uow: Any) -> int:
                if page > 1 and cursor is None:
                    return 0
                items, _ = queries.list_tasks(uow, user_id, filt, cursor=cursor, clock=clock, sort=sort,
                                              descending=descending)
                if view:
                    views.task_page_items(uow, items, pools.today)
                return len(items)
            return call
        return prepare

    def search(make: Callable[[random.Random], tuple[Any, Any]]) -> Callable[[random.Random], Call]:
        def prepare(rng: random.Random) -> Call:
            filt, visibility = make(rng)

            def call(uow: Any) -> int:
                items, _ = ledger.search(uow, filt, visibility)
                return len(items)
            return call
        return prepare

    def staff(rng: random.Random) -> Any:
        return rng.choice(pools.staff)

    def admin(rng: random.Random) -> Any:
        return rng.choice(pools.admins)

    def clerk_of_sample(rng: random.Random) -> tuple[tuple[str, str, str], Any]:
        sample = rng.choice(pools.samples)
        return sample, visibility_for(rng.choice(pools.unit_staff[sample[1]]))

    def fragment(seller_name: str) -> str:
        return " ".join(seller_name.split()[:2]).lower()  # "weber elektro": what people type

    def by_status(rng: random.Random) -> tuple[Any, Any]:
        return ledger.InvoiceFilter(status=rng.choice(STATUSES)), visibility_for(staff(rng))

    def by_number(rng: random.Random) -> tuple[Any, Any]:
        sample, visibility = clerk_of_sample(rng)
        return ledger.InvoiceFilter(number=sample[0]), visibility

    def by_seller(rng: random.Random) -> tuple[Any, Any]:
        sample, visibility = clerk_of_sample(rng)
        return ledger.InvoiceFilter(seller=fragment(sample[2])), visibility

    def by_issue_date(rng: random.Random) -> tuple[Any, Any]:
        start, end = date_window(pools, rng)
        return ledger.InvoiceFilter(issued_from=start, issued_to=end), visibility_for(staff(rng))

    def supplier(rng: random.Random) -> tuple[Any, Any]:
        return ledger.InvoiceFilter(), visibility_for(rng.choice(pools.suppliers))

    def admin_status(rng: random.Random) -> tuple[Any, Any]:
        return ledger.InvoiceFilter(status=rng.choice(STATUSES)), visibility_for(admin(rng))

    def admin_seller(rng: random.Random) -> tuple[Any, Any]:
        return ledger.InvoiceFilter(seller=fragment(rng.choice(pools.samples)[2])), visibility_for(admin(rng))

    def admin_issue_date(rng: random.Random) -> tuple[Any, Any]:
        start, end = date_window(pools, rng)
        return ledger.InvoiceFilter(issued_from=start, issued_to=end), visibility_for(admin(rng))

    cases = [
        Case("a", "workqueue: clerk, my units, page 1", tasks(TaskFilter(my_units=True), staff)),
        Case("a2", "workqueue: clerk, my units, page 2 (cursor)", tasks(TaskFilter(my_units=True), staff, page=2)),
        Case("a0", "workqueue: clerk, no filter (unit + mine + escalated)", tasks(TaskFilter(), staff)),
        Case("av", "workqueue: clerk, my units + page items (API view)",
             tasks(TaskFilter(my_units=True), staff, view=True)),
        Case("b", "workqueue: mine", tasks(TaskFilter(mine=True), staff)),
        Case("c", "workqueue: clerk, overdue", tasks(TaskFilter(overdue=True), staff)),
        Case("d", "workqueue: clerk, Skonto within 7 days", tasks(TaskFilter(skonto_within_days=7), staff)),
        Case("as", "workqueue: clerk, sorted by amount desc (web page)",
             tasks(TaskFilter(), staff, sort="amount", descending=True)),
        Case("e", "workqueue: admin, all, page 1", tasks(TaskFilter(), admin)),
        Case("es", "workqueue: admin, all, sorted by seller (web page)", tasks(TaskFilter(), admin, sort="seller")),
        Case("e2", "workqueue: admin, all, page 2 (cursor)", tasks(TaskFilter(), admin, page=2)),
        Case("e20", "workqueue: admin, all, page 20 (cursor)", tasks(TaskFilter(), admin, page=20)),
        Case("ec", "workqueue: admin, overdue", tasks(TaskFilter(overdue=True), admin)),
        Case("ed", "workqueue: admin, Skonto within 7 days", tasks(TaskFilter(skonto_within_days=7), admin)),
        Case("f", "search: status (staff, own unit)", search(by_status)),
        Case("g", "search: invoice number (staff)", search(by_number)),
        Case("h", "search: seller substring (staff)", search(by_seller)),
        Case("i", "search: issue date, 30 days (staff)", search(by_issue_date)),
        Case("j", "search: supplier (sender) visibility", search(supplier)),
    ]
    if admin_search:
        cases += [
            Case("fA", "search: status (admin, everything)", search(admin_status)),
            Case("hA", "search: seller substring (admin)", search(admin_seller)),
            Case("iA", "search: issue date, 30 days (admin)", search(admin_issue_date)),
        ]
    return cases


@dataclass
class Runner:
    factory: Any
    recorder: Recorder

    def measure(self, cases: list[Case], reps: int, budget_s: float, warmup: int, rng: random.Random
                ) -> dict[str, CaseStats]:
        """Interleaved rounds (case order shuffled each round); a case stops once it has used ``budget_s``."""
        from einvoice.db import UnitOfWork

        for case in cases:
            for _ in range(warmup):
                call = case.prepare(rng)
                with UnitOfWork(self.factory) as uow:
                    call(uow)
        stats = {case.key: CaseStats() for case in cases}
        for _ in range(reps):
            order = cases[:]
            rng.shuffle(order)
            for case in order:
                st = stats[case.key]
                if st.spent >= budget_s and len(st.ms) >= 10:
                    continue
                call = case.prepare(rng)
                with UnitOfWork(self.factory) as uow, self.recorder.recording():
                    t0 = time.perf_counter()
                    rows = call(uow)
                    elapsed = time.perf_counter() - t0
                st.add(elapsed, rows, self.recorder.main())
        return stats


# ------------------------------------------------------------------ plans


def explain(engine: Any, sql: tuple[str, Any], analyze: bool) -> Any:
    statement, parameters = sql
    options = "ANALYZE, BUFFERS, FORMAT TEXT" if analyze else "FORMAT JSON"
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN ({options}) {statement}", parameters).fetchall()
        conn.rollback()
    if analyze:
        return [r[0] for r in rows]
    plan = rows[0][0]
    return plan if not isinstance(plan, str) else json.loads(plan)


def plan_summary(plan: Any) -> str:
    """The access paths of a JSON plan: index scans with their index, sequential scans, sorts."""
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        kind = node.get("Node Type", "")
        if "Index Name" in node:
            short = {"Index Scan": "idx", "Index Only Scan": "idx-only", "Bitmap Index Scan": "bitmap"}.get(kind, kind)
            found.append(f"{short} {node['Index Name']}" + (" (backward)" if node.get("Scan Direction") == "Backward"
                                                             else ""))
        elif kind == "Seq Scan":
            found.append(f"seq scan {node.get('Relation Name')}")
        elif kind in ("Sort", "Incremental Sort"):
            found.append(kind.lower())
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return ", ".join(dict.fromkeys(found))


# ------------------------------------------------------------------ index candidates


@dataclass
class Candidate:
    name: str
    why: str
    ddl: list[str]
    cases: list[str]
    # query shapes timed as raw SQL with the index in place (random 30-day issue-date windows)
    rewrites: list[tuple[str, str]] = field(default_factory=list)


ISSUE_WINDOW = "SELECT * FROM invoices WHERE issue_date >= %(start)s AND issue_date <= %(end)s "
ISSUE_DATE_REWRITES = [
    ("as search() sends it (admin): ORDER BY received_at DESC, id DESC",
     ISSUE_WINDOW + "ORDER BY received_at DESC, id DESC LIMIT 51"),
    ("same order, sort key hidden from the planner: ORDER BY received_at + interval '0 s' DESC, id DESC",
     ISSUE_WINDOW + "ORDER BY received_at + interval '0 s' DESC, id DESC LIMIT 51"),
    ("ordered by the filtered column: ORDER BY issue_date DESC, id DESC",
     ISSUE_WINDOW + "ORDER BY issue_date DESC, id DESC LIMIT 51"),
]


CANDIDATES = [
    Candidate("(unit_id, received_at, id)",
              "staff searches are 'unit_id IN (…) ORDER BY received_at DESC, id DESC': walk the unit's newest first",
              ["CREATE INDEX bench_ix_invoices_unit_received ON invoices (unit_id, received_at, id)"],
              ["f", "h", "i"]),
    Candidate("(status, received_at, id)",
              "status filter with the search order, for admins (everything visible)",
              ["CREATE INDEX bench_ix_invoices_status_received ON invoices (status, received_at, id)"],
              ["fA", "f"]),
    Candidate("(issue_date)", "issue-date ranges have no index at all",
              ["CREATE INDEX bench_ix_invoices_issue_date ON invoices (issue_date)"], ["i", "iA"],
              rewrites=ISSUE_DATE_REWRITES),
    Candidate("(sender, received_at, id)", "supplier view: the sender's newest first without a sort",
              ["CREATE INDEX bench_ix_invoices_sender_received ON invoices (sender, received_at, id)"], ["j"]),
]


def time_rewrites(port: int, dbname: str, rewrites: list[tuple[str, str]], window: Callable[[random.Random], Any],
                  reps: int, budget_s: float, rng: random.Random) -> dict[str, dict[str, Any]]:
    """Raw SQL (no ORM, no unit of work) for each shape, interleaved, same random windows for all."""
    samples: dict[str, list[float]] = {label: [] for label, _ in rewrites}
    spent = dict.fromkeys(samples, 0.0)
    with connect(port, dbname) as conn:
        for rep in range(reps):
            start, end = window(rng)
            for label, sql in rewrites:
                if spent[label] >= budget_s and rep >= 10:
                    continue
                t0 = time.perf_counter()
                conn.execute(sql, {"start": start, "end": end}).fetchall()
                elapsed = time.perf_counter() - t0
                spent[label] += elapsed
                samples[label].append(elapsed * 1000)
        plans = {label: conn.execute("EXPLAIN (FORMAT JSON) " + sql, dict(zip(("start", "end"), window(rng),
                                                                              strict=True))).fetchone()[0]
                 for label, sql in rewrites}
    return {label: {"sql": sql, "reps": len(samples[label]), "p50_ms": percentile(samples[label], 50),
                    "p95_ms": percentile(samples[label], 95), "plan": plan_summary(plans[label])}
            for label, sql in rewrites}


def try_candidates(port: int, dbname: str, runner: Runner, cases: list[Case], baseline: dict[str, dict[str, Any]],
                   reps: int, budget_s: float, rng: random.Random, engine: Any,
                   window: Callable[[random.Random], Any]) -> list[dict[str, Any]]:
    """Each candidate alone: build it, measure its cases again (and its query shapes), drop it."""
    by_key = {c.key: c for c in cases}
    results = []
    for cand in CANDIDATES:
        keys = [k for k in cand.cases if k in by_key]
        if not keys:
            continue
        with connect(port, dbname) as conn:
            conn.execute("SET maintenance_work_mem = '512MB'")
            t0 = time.perf_counter()
            for ddl in cand.ddl:
                conn.execute(ddl)
            conn.execute("ANALYZE invoices")
            build_s = time.perf_counter() - t0
            names = [d.split()[2] for d in cand.ddl if d.startswith("CREATE INDEX")]
            size = sum(conn.execute("SELECT pg_relation_size(%s::regclass)", (n,)).fetchone()[0] for n in names)
        try:
            stats = runner.measure([by_key[k] for k in keys], reps, budget_s, warmup=3, rng=rng)
            shapes = (time_rewrites(port, dbname, cand.rewrites, window, min(reps, 30), budget_s / 2, rng)
                      if cand.rewrites else {})
        finally:
            with connect(port, dbname) as conn:
                for n in names:
                    conn.execute(f"DROP INDEX {n}")
        entry: dict[str, Any] = {"candidate": cand.name, "why": cand.why, "ddl": cand.ddl, "build_s": build_s,
                                 "index_bytes": size, "cases": {}, "query_shapes": shapes}
        for key in keys:
            after = stats[key].summary()
            sql = stats[key].slowest[1]
            after["plan"] = plan_summary(explain(engine, sql, analyze=False)) if sql else ""
            entry["cases"][key] = {"before": {k: baseline[key][k] for k in ("p50_ms", "p95_ms", "plan")},
                                   "after": after}
        results.append(entry)
        print(f"  {cand.name}: built in {build_s:.1f} s, {mib(size)} MiB", flush=True)
        for k, v in entry["cases"].items():
            before, after = baseline[k], v["after"]
            print(f"    ({k}) p50/p95 {fmt(before['p50_ms'], 2)}/{fmt(before['p95_ms'], 2)} -> "
                  f"{fmt(after['p50_ms'], 2)}/{fmt(after['p95_ms'], 2)} ms; slowest now: {after['plan']}", flush=True)
        for label, shape in shapes.items():
            print(f"    raw SQL with the index, {label}: p50/p95 {fmt(shape['p50_ms'], 2)}/"
                  f"{fmt(shape['p95_ms'], 2)} ms ({shape['reps']} reps; {shape['plan']})", flush=True)
    return results


# ------------------------------------------------------------------ one size


def run_size(port: int, n: int, args: argparse.Namespace, today: date) -> dict[str, Any]:
    from sqlalchemy import event
    from sqlalchemy.orm import sessionmaker

    from einvoice import db
    from einvoice.workflow.clock import FixedClock

    dbname = f"bench_workqueue_{n}"
    url = create_database(port, dbname)
    print(f"\n[N = {n:,}] database {dbname}: migrations (einvoice.db.upgrade) …", flush=True)
    figures: dict[str, Any] = {"n": n}
    t0 = time.perf_counter()
    db.upgrade(url)
    figures["migrate_s"] = time.perf_counter() - t0
    print(f"  bulk load (seed {args.seed}) …", flush=True)
    t0 = time.perf_counter()
    figures["load_steps_s"] = load(port, dbname, url, n, today, args.seed)
    figures["load_s"] = time.perf_counter() - t0
    print(f"  loaded in {figures['load_s']:.1f} s", flush=True)
    figures["data"] = data_facts(port, dbname, today)
    print_data_facts(n, figures["data"])

    engine = db.make_engine(url)
    recorder = Recorder()
    event.listen(engine, "before_cursor_execute", recorder)
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    try:
        rng = random.Random(args.seed * 1000 + n)
        pools = load_pools(factory, today)
        cases = make_cases(pools, FixedClock(today), factory, admin_search=not args.no_admin_search)
        runner = Runner(factory, recorder)
        print(f"  measuring {len(cases)} cases x {args.reps} repetitions (budget {args.budget:.0f} s per case) …",
              flush=True)
        t0 = time.perf_counter()
        stats = runner.measure(cases, args.reps, args.budget, warmup=args.warmup, rng=rng)
        figures["measure_s"] = time.perf_counter() - t0
        results: dict[str, dict[str, Any]] = {}
        for case in cases:
            summary = stats[case.key].summary()
            summary["label"] = case.label
            sql = stats[case.key].slowest[1]
            summary["plan"] = plan_summary(explain(engine, sql, analyze=False)) if sql else ""
            summary["slowest_sql"] = sql[0] if sql else None
            results[case.key] = summary
        figures["cases"] = results
        print_cases(n, results)
        slowest = max(results, key=lambda k: results[k]["p95_ms"])
        sql = stats[slowest].slowest[1]
        if sql:
            lines = explain(engine, sql, analyze=True)
            figures["explain_slowest"] = {"case": slowest, "label": results[slowest]["label"], "plan": lines}
            print(f"\n  EXPLAIN (ANALYZE, BUFFERS) of the slowest case by p95, ({slowest}) {results[slowest]['label']} "
                  f"(its slowest repetition's parameters):")
            for line in lines[:40]:
                print(f"    {line}")
            if len(lines) > 40:
                print(f"    … {len(lines) - 40} more lines")
        if not args.no_candidates:
            print("\n  index candidates (scratch database only; each alone, then dropped):", flush=True)
            figures["candidates"] = try_candidates(port, dbname, runner, cases, results, max(args.reps // 2, 20),
                                                   args.budget / 2, rng, engine, lambda r: date_window(pools, r))
    finally:
        engine.dispose()
        with connect(port, "postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
    return figures


def print_cases(n: int, results: dict[str, dict[str, Any]]) -> None:
    rows = [[f"({k}) {r['label']}", str(r["reps"]), fmt(r["p50_ms"], 2), fmt(r["p95_ms"], 2), fmt(r["max_ms"], 1),
             fmt(r["rows_mean"], 0), r["plan"]] for k, r in results.items()]
    print_table(f"Latency, N = {n:,} invoices (ms per call, one client, fresh unit of work per call)",
                ["case", "reps", "p50", "p95", "max", "rows", "plan of the slowest repetition"], rows)


# ------------------------------------------------------------------ main


def postgres_facts(port: int) -> dict[str, Any]:
    with connect(port, "postgres") as conn:
        version_ = conn.execute("SELECT version()").fetchone()[0]
        settings = dict(conn.execute(
            "SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings WHERE name = ANY(%s)",
            (["shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "fsync",
              "synchronous_commit", "jit", "max_parallel_workers_per_gather"],)).fetchall())
    return {"version": version_, "settings": settings}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="invoice counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="sizes 10,000 and 100,000, fewer repetitions")
    parser.add_argument("--reps", type=int, help="repetitions per case (default 200, quick 60)")
    parser.add_argument("--budget", type=float, help="seconds of measured time per case at most (default 15, quick 4)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls per case first (default 5)")
    parser.add_argument("--seed", type=float, default=0.42, help="random seed (data and parameters)")
    parser.add_argument("--no-candidates", action="store_true", help="skip the index candidates")
    parser.add_argument("--no-admin-search", action="store_true", help="skip the admin search variants")
    parser.add_argument("--json", dest="json_file", help="write all figures to this JSON file")
    args = parser.parse_args(argv)
    sizes = [10_000, 100_000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    args.reps = args.reps or (60 if args.quick else 200)
    args.budget = args.budget or (4.0 if args.quick else 15.0)
    if not sizes or min(sizes) < 1000 or args.reps < 1:
        parser.error("sizes must be >= 1000 and --reps positive")
    if problem := missing_postgres():
        print(problem)
        return 2

    today = datetime.now(UTC).date()
    machine = machine_facts()
    machine["loadavg_at_start"] = os.getloadavg()
    command = " ".join(["python", "benchmarks/bench_workqueue.py", *(argv if argv is not None else sys.argv[1:])])
    figures: dict[str, Any] = {"command": command, "machine": machine, "today": today.isoformat(),
                               "reps": args.reps, "budget_s": args.budget, "seed": args.seed, "sizes": {}}
    print(f"command: {command}")
    print(f"machine: {machine['cpu_count']} CPUs ({machine['usable_cpus']} usable), {machine['cpu_model']}, "
          f"python {machine['python']}, {machine['platform']}; load average {machine['loadavg_at_start'][0]:.2f}")
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="einvoice-bench-workqueue-"))
    os.chmod(folder, 0o755)  # the postgres user must reach its cluster folder inside
    try:
        with postgres_cluster(folder, durable=True) as cluster, connect(cluster.port, "postgres") as conn:
            port = cluster.port
            # a scratch cluster: no durability needed (loading speed); reads are what is measured
            for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off",
                            "max_wal_size = '8GB'", "checkpoint_timeout = '30min'"):
                conn.execute(f"ALTER SYSTEM SET {setting}")
            conn.execute("SELECT pg_reload_conf()")
            figures["postgres"] = postgres_facts(port)
            pg = figures["postgres"]
            print(f"{pg['version']}")
            print("settings: " + ", ".join(f"{k}={v}" for k, v in sorted(pg["settings"].items())))
            for n in sizes:
                figures["sizes"][str(n)] = run_size(port, n, args, today)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures["total_s"] = time.perf_counter() - started
    machine["loadavg_at_end"] = os.getloadavg()
    print(f"\ntotal {figures['total_s']:.0f} s; load average at the end {machine['loadavg_at_end'][0]:.2f}")
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
        print(f"figures written to {args.json_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
