-- Lead intake (issue 7, section 1): the sources allowed to post leads, the
-- replay cache of signed requests, stored Idempotency-Key answers, engagement
-- events, and the staging tables of `starter lead import`.

-- A source authenticates with its API key (only its SHA-256 is kept) or with
-- an HMAC-SHA256 signature made with its secret.
create table intake_sources (
    name            text primary key check (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    key_sha256      bytea not null unique,
    hmac_secret     text not null,
    rate_per_second double precision not null check (rate_per_second > 0),
    burst           int not null check (burst > 0),
    created_at      timestamptz not null default now(),
    rotated_at      timestamptz not null default now()
);

-- Signatures already used inside the replay window.
create table intake_replays (
    source     text not null references intake_sources(name) on delete cascade,
    signature  text not null,
    seen_at    timestamptz not null default now(),
    primary key (source, signature)
);
create index intake_replays_seen on intake_replays(seen_at);

-- The stored answer to a request with an Idempotency-Key; status 0 while the
-- first request is still running.
create table intake_idempotency (
    source        text not null references intake_sources(name) on delete cascade,
    key           text not null,
    request_hash  bytea not null,
    status        int not null default 0,
    body          bytea,
    created_at    timestamptz not null default now(),
    primary key (source, key)
);
create index intake_idempotency_created on intake_idempotency(created_at);

-- Engagement events (page_view, email_click, …); event_id makes a retried
-- event a no-op.
create table lead_engagement (
    lead_id      text not null,
    event_id     text not null,
    source       text not null,
    type         text not null,
    points       int not null,
    occurred_at  timestamptz not null,
    recorded_at  timestamptz not null default now(),
    primary key (lead_id, event_id)
);

-- CSV imports: one row per file (by content hash), the last line committed,
-- and the staged rows the drain turns into lead workflows.
create table lead_imports (
    id           bigserial primary key,
    file_sha256  text not null unique,
    file_name    text not null,
    last_line    int not null default 1,
    staged       int not null default 0,
    duplicates   int not null default 0,
    bad_rows     int not null default 0,
    staged_done  boolean not null default false,
    started_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);

create table lead_import_rows (
    import_id  bigint not null references lead_imports(id) on delete cascade,
    line       int not null,
    lead_id    text not null,
    campaign   text not null,
    email      text not null,
    name       text not null default '',
    company    text not null default '',
    country    text not null default '',
    score      int,
    source     text not null default '',
    state      text not null default 'pending' check (state in ('pending', 'started', 'failed')),
    error      text not null default '',
    primary key (import_id, line)
);
-- The business key: one staged row per lead and campaign across every import.
create unique index lead_import_rows_key on lead_import_rows(campaign, lead_id);
-- Rows that could not be staged, with the reason.
create table lead_import_errors (
    import_id  bigint not null references lead_imports(id) on delete cascade,
    line       int not null,
    error      text not null,
    primary key (import_id, line)
);
create index lead_import_rows_pending on lead_import_rows(import_id, line) where state = 'pending';

---- create above / drop below ----
drop table lead_import_errors;
drop table lead_import_rows;
drop table lead_imports;
drop table lead_engagement;
drop table intake_idempotency;
drop table intake_replays;
drop table intake_sources;
