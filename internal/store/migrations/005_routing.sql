-- Routing: weighted round robin with caps, working hours and territories.

-- Reps' routing settings, from the directory file.
alter table people
    add column weight         int not null default 1 check (weight between 1 and 100),
    add column cap            int not null default 0 check (cap >= 0),
    add column working_hours  jsonb; -- {"mon": ["09:00-17:00"], ...} in time_zone; null: always on shift

-- Each rep's place in the weighted rotation (stride scheduling): the
-- smallest pass goes next, and a pick adds 720720000/weight. Kept apart from
-- people so a directory import never moves the rotation.
create table rep_rotation (
    rep_id      text primary key references people(id),
    pass        bigint not null default 0,
    updated_at  timestamptz not null default now()
);

-- The team's virtual time: the smallest pass among reps available at the last
-- pick. A rep who comes back (from leave, off shift, at cap, reactivated or
-- new) starts there: their share from now on, no catch-up burst.
alter table team_rotation add column vtime bigint not null default 0;

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

-- Lead fields territory rules may look at, besides country and campaign.
alter table leads
    add column region        text not null default '',
    add column industry      text not null default '',
    add column company_size  text not null default '';

---- create above / drop below ----
alter table leads drop column region, drop column industry, drop column company_size;
drop table routing_settings, territory_rules;
drop index assignments_lead;
drop index assignments_open;
alter table assignments drop column released_at, drop column why;
alter table team_rotation drop column vtime;
drop table rep_rotation;
alter table people drop column weight, drop column cap, drop column working_hours;
