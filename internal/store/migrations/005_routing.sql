-- Routing: weighted round robin with caps, working hours and territories.

-- Reps' routing settings, from the directory file.
alter table people
    add column weight         int not null default 1 check (weight between 1 and 100),
    add column cap            int not null default 0 check (cap >= 0),
    add column working_hours  jsonb; -- {"mon": ["09:00-17:00"], ...} in time_zone; null: always on shift

-- Each rep's standing in the weighted rotation (smooth weighted round robin):
-- every pick adds each available rep's weight, the largest credit gets the
-- lead and pays back the sum of the available weights. A rep who is away, off
-- shift, at cap or inactive gains nothing, so they come back without a
-- catch-up burst. Kept apart from people so an import never moves it.
create table rep_rotation (
    rep_id      text primary key references people(id),
    credit      bigint not null default 0,
    updated_at  timestamptz not null default now()
);

-- An assignment holds capacity until released: a later attempt of the lead
-- (reject, lapse, reassignment) or the lead leaving the held states (close).
-- why is the routing decision as explained by `starter route explain`.
alter table assignments
    add column released_at  timestamptz,
    add column why          jsonb;
create index assignments_open on assignments(rep_id) where released_at is null;
create index assignments_lead on assignments(lead_id);

update assignments a set released_at = now()
where exists (select 1 from leads l where l.id = a.lead_id
    and (l.attempt > a.attempt or l.state not in ('Offered', 'Escalated', 'Accepted', 'Contacted')));

-- Territories: ordered rules on lead fields pick a team.
create table territory_rules (
    position  int primary key,
    name      text not null unique,
    team_id   text not null references teams(id),
    match     jsonb not null -- {"country": ["DE"], "campaign": ["webinar-q3"], ...}
);
create table routing_settings (
    id            boolean primary key default true check (id),
    default_team  text references teams(id)
);

-- When the held leads of a rep were told of an out-of-office period that has
-- begun. A period recorded ahead of time is told by the worker's sweep when
-- it starts (intake.SweepAway); rows from before this migration count as told.
alter table out_of_office add column announced_at timestamptz;
update out_of_office set announced_at = now();

-- Lead fields territory rules may look at, besides country and campaign.
alter table leads
    add column region        text not null default '',
    add column industry      text not null default '',
    add column company_size  text not null default '';

---- create above / drop below ----
alter table leads drop column region, drop column industry, drop column company_size;
alter table out_of_office drop column announced_at;
drop table routing_settings, territory_rules;
drop index assignments_lead;
drop index assignments_open;
alter table assignments drop column released_at, drop column why;
drop table rep_rotation;
alter table people drop column weight, drop column cap, drop column working_hours;
