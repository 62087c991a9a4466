"""an agency's plain fetches checked, counted and audited in one statement (PostgreSQL)

`vault_share_fetch` is what vault.sharing.checked calls, once for the downloads arriving
together: one round trip that, for each, checks the grant (this agency's, live, a use left,
the paper in it and unmasked), counts the use, appends the download to the citizen's audit
chain under the chain's lock, and returns the paper's stored object and wrapped key. A download
whose checks fail gets no row: its caller then goes the long way, which names the refusal. The
function's statements each see what committed before they ran (each takes a fresh snapshot),
so a chain's head is read after its lock is held. Each event's canonical text comes cut in
pieces from vault.audit.template; the function fills in the chain, the paper's type and
version, the grant and the next link, and hashes it exactly as vault.audit.entry_hash does.
SQLite has no functions of this kind: there the same steps run in one BEGIN IMMEDIATE
transaction, in process.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 12:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION vault_share_fetch(
    p_token_hashes text[],
    p_agency_ids uuid[],
    p_document_ids uuid[],
    p_actor_types text[],
    p_actor_ids text[],
    p_at timestamptz,
    p_action text,
    p_domain bytea,
    p_body text[],
    p_details text[]
) RETURNS TABLE (
    item integer,
    grant_id uuid,
    citizen_id uuid,
    doc_type text,
    version integer,
    object_key text,
    kek_version integer,
    wrapped_dek bytea,
    content_type text,
    size bigint,
    pages integer,
    trust text,
    sealed_metadata bytea
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    g record;
    paper record;
    head record;
    v_b integer;
    v_d integer;
    v_chain text;
    v_seq bigint;
    v_previous text;
    v_details text;
BEGIN
    -- A batch stuck behind one citizen's locks would stall every agency: it fails instead.
    PERFORM set_config('lock_timeout', '5s', true);
    FOR i IN 1 .. coalesce(array_length(p_token_hashes, 1), 0) LOOP
        UPDATE share_grant AS s SET uses = s.uses + 1
         WHERE s.token_hash = p_token_hashes[i]
           AND s.agency_id = p_agency_ids[i]
           AND s.revoked_at IS NULL
           AND s.expires_at > p_at
           AND (s.max_uses IS NULL OR s.uses < s.max_uses)
           AND EXISTS (SELECT 1 FROM share_grant_document AS l
                        WHERE l.grant_id = s.id AND l.document_id = p_document_ids[i]
                          AND l.masks IS NULL)
        RETURNING s.id, s.citizen_id INTO g;
        CONTINUE WHEN NOT FOUND;
        SELECT d.doc_type, v.version, v.object_key, v.kek_version, v.wrapped_dek,
               v.content_type, v.size, v.pages, v.trust, v.sealed_metadata
          INTO paper
          FROM share_grant_document AS l
          JOIN document AS d ON d.id = l.document_id
          JOIN document_version AS v
            ON v.document_id = l.document_id AND v.version = l.version
         WHERE l.grant_id = g.id AND l.document_id = p_document_ids[i];
        v_chain := g.citizen_id::text;
        -- The lock vault.audit takes: the first eight bytes of SHA-256 of the chain's name.
        PERFORM pg_advisory_xact_lock(
            ('x' || left(encode(sha256(convert_to(v_chain, 'UTF8')), 'hex'), 16))::bit(64)::bigint);
        SELECT e.seq, e.entry_hash INTO head
          FROM audit_event AS e WHERE e.chain = v_chain ORDER BY e.seq DESC LIMIT 1;
        IF FOUND THEN
            v_seq := head.seq + 1;
            v_previous := head.entry_hash;
        ELSE
            v_seq := 1;
            v_previous := repeat('0', 64);
        END IF;
        v_b := (i - 1) * 6;
        v_d := (i - 1) * 3;
        v_details := p_details[v_d + 1] || to_json(paper.doc_type)::text || p_details[v_d + 2]
            || paper.version || p_details[v_d + 3];
        INSERT INTO audit_event (chain, seq, occurred_at, actor_type, actor_id, action,
                                 outcome, reason, document_id, grant_id, agency_id, details,
                                 prev_hash, entry_hash)
        VALUES (v_chain, v_seq, p_at, p_actor_types[i], p_actor_ids[i], p_action, 'success',
                NULL, p_document_ids[i], g.id, p_agency_ids[i], v_details, v_previous,
                encode(sha256(p_domain || convert_to(v_previous
                    || p_body[v_b + 1] || to_json(v_chain)::text
                    || p_body[v_b + 2] || to_json(paper.doc_type)::text
                    || p_body[v_b + 3] || paper.version
                    || p_body[v_b + 4] || to_json(g.id::text)::text
                    || p_body[v_b + 5] || v_seq
                    || p_body[v_b + 6], 'UTF8')), 'hex'));
        item := i;
        grant_id := g.id;
        citizen_id := g.citizen_id;
        doc_type := paper.doc_type;
        version := paper.version;
        object_key := paper.object_key;
        kek_version := paper.kek_version;
        wrapped_dek := paper.wrapped_dek;
        content_type := paper.content_type;
        size := paper.size;
        pages := paper.pages;
        trust := paper.trust;
        sealed_metadata := paper.sealed_metadata;
        RETURN NEXT;
    END LOOP;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS vault_share_fetch("
            "text[], uuid[], uuid[], text[], text[], timestamptz, text, bytea, text[], text[])"
        )
