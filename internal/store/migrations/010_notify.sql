-- Outbound webhooks and Slack (issue 17).
--
-- A subscription: where to POST, which event types, and the signing secret
-- (whsec_ + base64 of the key, as Standard Webhooks has it).
create table webhook_subscriptions (
    id          text primary key,
    url         text not null,
    events      text[] not null,
    secret      text not null,
    created_at  timestamptz not null default now()
);

-- One row per event, written in the transaction of the lead or campaign
-- event it reports (only when a subscription wants its type). id is stable
-- (derived from the source event's key), so receivers dedupe on it.
create table webhook_events (
    id           text primary key,
    type         text not null,
    lead_id      text not null default '',
    campaign_id  text not null default '',
    payload      jsonb not null,
    occurred_at  timestamptz not null,
    created_at   timestamptz not null default now()
);
create index webhook_events_lead on webhook_events(lead_id) where lead_id <> '';

-- The outbox the worker drains: one delivery per (event, subscription),
-- retried with backoff until it is delivered or its retry window ends.
create table webhook_deliveries (
    id               bigserial primary key,
    event_id         text not null references webhook_events(id) on delete cascade,
    subscription_id  text not null references webhook_subscriptions(id) on delete cascade,
    status           text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts         int not null default 0,
    next_at          timestamptz not null default now(),
    leased_until     timestamptz,
    last_status      int not null default 0,
    last_error       text not null default '',
    delivered_at     timestamptz,
    created_at       timestamptz not null default now(),
    unique (event_id, subscription_id)
);
create index webhook_deliveries_due on webhook_deliveries(next_at) where status = 'pending';
create index webhook_deliveries_status on webhook_deliveries(status, created_at);

-- Slack: a person's Slack user id (from the directory, or found by
-- users.lookupByEmail and kept), whether they take Baton's messages there,
-- and which kinds (empty: every kind Slack carries).
alter table people add column slack_user_id text not null default '',
    add column slack_off boolean not null default false,
    add column slack_kinds text[] not null default '{}';

-- Slack's never-twice ledger, keyed by (message, channel): the DM's channel
-- and timestamp let chat.update rewrite it after an action.
create table slack_messages (
    key          text primary key,
    lead_id      text not null default '',
    kind         text not null default '',
    user_id      text not null default '',
    channel      text not null default '',
    ts           text not null default '',
    actions      jsonb not null default '{}',   -- button action -> the signed link token it stands for
    status       text not null check (status in ('sending', 'sent', 'failed')),
    error        text not null default '',
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index slack_messages_lead on slack_messages(lead_id);
create index slack_messages_ts on slack_messages(channel, ts) where ts <> '';

---- create above / drop below ----
drop table slack_messages;
alter table people drop column slack_user_id, drop column slack_off, drop column slack_kinds;
drop table webhook_deliveries, webhook_events, webhook_subscriptions;
