-- Escalation batching, a lead's phone and routing causes (issue 16).

-- Escalation emails to one person within a window are batched
-- (docs/email.md). One row per recipient and kind: the instant the current
-- window closes, and the batch collecting for it, if any.
create table mail_windows (
    recipient   text not null,
    kind        text not null,
    closes_at   timestamptz not null,
    open_batch  text,
    primary key (recipient, kind)
);

-- A batch: one email to one person carrying every queued message of its
-- window. key is the email ledger key of the batch's message, so a batch is
-- sent at most once whatever the dispatcher's crashes. status: open (still
-- collecting, due at due_at), sending (closed; leased until next_at), sent,
-- failed, empty (every lead in it was erased before it went out).
create table mail_batches (
    key         text primary key,
    recipient   text not null,
    kind        text not null,
    to_name     text not null default '',
    from_email  text not null default '',
    due_at      timestamptz not null,
    status      text not null default 'open' check (status in ('open', 'sending', 'sent', 'failed', 'empty')),
    next_at     timestamptz not null,
    attempts    int not null default 0,
    error       text not null default '',
    created_at  timestamptz not null default now(),
    sent_at     timestamptz
);
create index mail_batches_due on mail_batches(next_at) where status in ('open', 'sending');

-- Every message that went through a window, by its own ledger key: sent on
-- its own (batch_key null: the leading edge) or queued into a batch. The
-- parts are the lead's section of the batch email, as the single message
-- would show it, with its own action links.
create table mail_batch_items (
    key          text primary key,
    batch_key    text,
    recipient    text not null,
    lead_id      text not null default '',
    subject      text not null default '',
    text_part    text not null default '',
    html_part    text not null default '',
    links        jsonb not null default '[]',
    created_at   timestamptz not null default now()
);
create index mail_batch_items_batch on mail_batch_items(batch_key) where batch_key is not null;
create index mail_batch_items_lead on mail_batch_items(lead_id);

-- A lead's phone, optional, as intake normalized it ("+4930123456"), and
-- in a staged CSV row.
alter table leads add column phone text not null default '';
alter table lead_import_rows add column phone text not null default '';

-- Why routing passed a rep over for a lead ('off shift', 'at cap', 'away'), once
-- per lead, attempt and rep; waited is true when nobody could take it and
-- the lead waited. The scoreboard's causes read these.
create table routing_skips (
    lead_id     text not null,
    attempt     int not null,
    rep_id      text not null,
    reason      text not null,
    waited      boolean not null default false,
    at          timestamptz not null,
    primary key (lead_id, attempt, rep_id)
);
create index routing_skips_rep on routing_skips(rep_id, at);

-- The skips already stored with the assignments.
insert into routing_skips (lead_id, attempt, rep_id, reason, at)
select a.lead_id, a.attempt, s->>'id', s->>'reason', coalesce((a.why->>'at')::timestamptz, a.assigned_at)
from assignments a, jsonb_array_elements(coalesce(a.why->'skipped', '[]')) s
where a.why is not null and s->>'reason' in ('off shift', 'at cap', 'away')
on conflict do nothing;

---- create above / drop below ----
drop table routing_skips;
alter table leads drop column phone;
alter table lead_import_rows drop column phone;
drop table mail_batch_items, mail_batches, mail_windows;
