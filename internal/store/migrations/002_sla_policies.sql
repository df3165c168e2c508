-- SLA policies, named and versioned; campaigns reference one by name. A lead
-- copies the policy when it starts, so later edits do not move its clocks.
create table sla_policies (
    name        text primary key,
    version     int not null default 1,
    spec        jsonb not null,
    updated_at  timestamptz not null default now()
);

alter table campaigns add column policy_name text references sla_policies(name);

alter table leads
    add column policy            text not null default '',
    add column escalation_level  int not null default 0,
    add column contact_by        timestamptz,
    add column contacted_at      timestamptz,
    add column closed_at         timestamptz,
    add column reason            text not null default '';

---- create above / drop below ----
alter table leads drop column policy, drop column escalation_level, drop column contact_by,
    drop column contacted_at, drop column closed_at, drop column reason;
alter table campaigns drop column policy_name;
drop table sla_policies;
