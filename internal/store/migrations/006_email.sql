-- Email: never twice with SendGrid, failures and delivery events.
-- A ledger row is 'sending' from just before the API call until its outcome
-- is known; attempted_at and attempts let a retry that finds it 'sending'
-- reconcile instead of sending blindly; unknown counts the calls since the
-- last definite answer whose outcome is not known (at most 2: one resend). 'retry' means the last call was
-- definitely not accepted (429, 5xx, connection refused): send again.
-- 'uncertain' means a resend after the grace period was not confirmed either:
-- it is never sent a third time and is reported.
alter table email_ledger
    add column lead_id       text not null default '',
    add column attempted_at  timestamptz,
    add column attempts      int not null default 0,
    add column unknown       int not null default 0,
    drop constraint email_ledger_status_check,
    add constraint email_ledger_status_check check (status in ('sending', 'retry', 'sent', 'failed', 'uncertain'));
-- Rows from before: one call each; a row left 'sending' counts from its creation.
update email_ledger set attempts = 1, attempted_at = created_at, unknown = case when status = 'sending' then 1 else 0 end;

-- One row per thing that happened to a message: our own failed sends (with
-- SendGrid's status and message) and SendGrid's Event Webhook events,
-- idempotent by SendGrid's sg_event_id.
create table email_events (
    id           bigserial primary key,
    ledger_key   text not null default '',
    lead_id      text not null default '',
    kind         text not null default '',
    event        text not null,
    sg_event_id  text unique,
    sg_message_id text not null default '',
    email        text not null default '',
    status       text not null default '',
    message      text not null default '',
    data         jsonb not null default '{}',
    occurred_at  timestamptz not null,
    recorded_at  timestamptz not null default now()
);
create index email_events_key on email_events(ledger_key, occurred_at);

---- create above / drop below ----
drop table email_events;
update email_ledger set status = 'sending' where status in ('retry', 'uncertain');
alter table email_ledger drop constraint email_ledger_status_check,
    add constraint email_ledger_status_check check (status in ('sending', 'sent', 'failed')),
    drop column lead_id, drop column attempted_at, drop column attempts, drop column unknown;
