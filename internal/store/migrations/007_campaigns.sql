-- The campaign lifecycle: draft → review → approved → live → ended → closed,
-- and the campaign's own history (review requests, approvals, change
-- requests with comments, marketing-side breaches, digests), append-only and
-- keyed by business key like lead_events.
alter table campaigns drop constraint campaigns_status_check;
alter table campaigns add constraint campaigns_status_check
    check (status in ('draft', 'review', 'approved', 'live', 'ended', 'closed'));
alter table campaigns
    add column revision   int not null default 1,
    add column live_at    timestamptz,
    add column ended_at   timestamptz;

create table campaign_events (
    id           bigserial primary key,
    campaign_id  text not null references campaigns(id),
    event_key    text not null unique,
    kind         text not null,
    actor        text not null,
    reason       text not null default '',
    data         jsonb not null default '{}',
    occurred_at  timestamptz not null,
    recorded_at  timestamptz not null default now()
);
create index campaign_events_campaign on campaign_events(campaign_id, occurred_at, id);

create trigger campaign_events_no_change before update or delete on campaign_events
    for each row execute function lead_events_append_only();

-- The campaign numbers read every event of a campaign's leads.
create index lead_events_kind on lead_events(lead_id, kind);

---- create above / drop below ----
drop index lead_events_kind;
drop table campaign_events;
alter table campaigns drop column revision, drop column live_at, drop column ended_at;
update campaigns set status = 'live' where status in ('review', 'approved');
update campaigns set status = 'ended' where status = 'closed';
alter table campaigns drop constraint campaigns_status_check;
alter table campaigns add constraint campaigns_status_check check (status in ('draft', 'live', 'ended'));
