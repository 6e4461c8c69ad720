--
-- PostgreSQL database cluster dump
--

\restrict 3kV9dXq0mZ2TnHcL1yWbQe7rUa5sJpFgKoDiMxNvYtBz

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE argo;
ALTER ROLE argo WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2VydmVy';
COMMENT ON ROLE argo IS 'workflow controller';
CREATE ROLE readers;
ALTER ROLE readers WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
SECURITY LABEL FOR dummy ON ROLE readers IS 'classified';

--
-- User Configurations
--

--
-- User Config "argo"
--

ALTER ROLE argo SET search_path TO 'argo', 'public';
ALTER ROLE argo SET statement_timeout TO '5min';


--
-- Role memberships
--

GRANT readers TO argo WITH INHERIT TRUE GRANTED BY postgres;


--
-- Role privileges on parameters
--

GRANT SET ON PARAMETER work_mem TO argo;
REVOKE ALTER SYSTEM ON PARAMETER log_min_messages FROM PUBLIC;


--
-- Tablespaces
--

CREATE TABLESPACE fast OWNER postgres LOCATION '/srv/pg/fast';
ALTER TABLESPACE fast SET (random_page_cost='1.1');
GRANT ALL ON TABLESPACE fast TO argo;
COMMENT ON TABLESPACE fast IS E'NVMe \\ disks';


\unrestrict 3kV9dXq0mZ2TnHcL1yWbQe7rUa5sJpFgKoDiMxNvYtBz

--
-- PostgreSQL database cluster dump complete
--

