-- The directory: teams, and everyone Baton mails.
create table teams (
    id          text primary key,
    name        text not null,
    manager_id  text,
    updated_at  timestamptz not null default now()
);

create table people (
    id          text primary key,
    email       text not null unique,
    name        text not null,
    time_zone   text not null default 'UTC',
    role        text not null check (role in ('rep', 'manager', 'sales_leader', 'marketing_leader', 'marketer')),
    team_id     text references teams(id),
    active      boolean not null default true,
    updated_at  timestamptz not null default now()
);
create index people_team on people(team_id) where role = 'rep';

alter table teams add constraint teams_manager_fk foreign key (manager_id) references people(id) deferrable initially deferred;

create table campaigns (
    id                     text primary key,
    name                   text not null,
    owner_name             text not null,
    owner_email            text not null,
    team_id                text not null references teams(id),
    status                 text not null check (status in ('draft', 'live', 'ended')),
    min_score              int not null default 0,
    accept_window_seconds  int not null check (accept_window_seconds > 0),
    spec                   jsonb not null,
    created_at             timestamptz not null default now(),
    updated_at             timestamptz not null default now()
);

-- One row per lead: the latest snapshot the workflow recorded. version is the
-- workflow's record sequence, so an older snapshot never overwrites a newer one.
create table leads (
    id            text primary key,
    email         text not null unique,
    name          text not null default '',
    company       text not null default '',
    country       text not null default '',
    score         int not null default 0,
    campaign_id   text not null references campaigns(id),
    state         text not null,
    owner_id      text references people(id),
    attempt       int not null default 0,
    offered_at    timestamptz,
    accept_by     timestamptz,
    escalated_at  timestamptz,
    accepted_at   timestamptz,
    touches       int not null default 1,
    workflow_id   text not null,
    version       bigint not null,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);
create index leads_campaign on leads(campaign_id);
create index leads_owner on leads(owner_id) where owner_id is not null;

-- Append-only history. event_key is a business key (lead + step + attempt), so
-- a retried activity never writes a second row.
create table lead_events (
    id           bigserial primary key,
    lead_id      text not null references leads(id),
    event_key    text not null unique,
    seq          bigint not null,
    kind         text not null,
    actor        text not null,
    reason       text not null default '',
    data         jsonb not null default '{}',
    occurred_at  timestamptz not null,
    recorded_at  timestamptz not null default now()
);
create index lead_events_lead on lead_events(lead_id, occurred_at, seq);

create function lead_events_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'lead_events is append-only';
end $$;
create trigger lead_events_no_change before update or delete on lead_events
    for each row execute function lead_events_append_only();

-- Who held a lead on which attempt. (lead_id, attempt) makes assignment idempotent.
create table assignments (
    lead_id      text not null,
    attempt      int not null,
    rep_id       text not null references people(id),
    team_id      text not null references teams(id),
    assigned_at  timestamptz not null default now(),
    primary key (lead_id, attempt)
);

-- Rotation state per team, in a row, so every worker agrees on whose turn it is.
create table team_rotation (
    team_id      text primary key references teams(id),
    last_rep_id  text not null default '',
    updated_at   timestamptz not null default now()
);

-- Every message Baton means to send, keyed by business key: never sent twice.
create table email_ledger (
    key          text primary key,
    kind         text not null,
    to_email     text not null,
    subject      text not null,
    status       text not null check (status in ('sending', 'sent', 'failed')),
    provider_id  text not null default '',
    error        text not null default '',
    created_at   timestamptz not null default now(),
    sent_at      timestamptz
);

-- The local outbox: where mail goes when no SendGrid key is set.
create table outbox (
    id          bigserial primary key,
    ledger_key  text not null unique references email_ledger(key),
    to_email    text not null,
    to_name     text not null default '',
    from_email  text not null,
    reply_to    text not null default '',
    subject     text not null,
    text_body   text not null,
    html_body   text not null,
    links       jsonb not null default '[]',
    sent_at     timestamptz not null default now()
);
create index outbox_to on outbox(to_email, id);

---- create above / drop below ----
drop table outbox, email_ledger, team_rotation, assignments, lead_events, leads, campaigns;
drop function lead_events_append_only();
alter table teams drop constraint teams_manager_fk;
drop table people, teams;
