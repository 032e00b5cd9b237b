-- One database per service: a service never reads another service's tables.
-- Run once as a superuser: psql -f deploy/postgres/init.sql
-- (or let `slrt up --postgres URL` create them). Tables are created by each service at start.
CREATE DATABASE slrt_intake;
CREATE DATABASE slrt_verval;
CREATE DATABASE slrt_referral;
CREATE DATABASE slrt_notify;
