-- Admin API and audit retention (issue 5). The user list pages newest first; the audit log is
-- filtered by event type over a time range; the retention job reads the oldest events first
-- (audit_events_time, from 0001, serves it).
CREATE INDEX users_created ON users(created_at, id);
CREATE INDEX audit_events_type_time ON audit_events(event_type, occurred_at);
