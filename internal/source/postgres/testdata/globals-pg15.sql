--
-- PostgreSQL database cluster dump
--

\restrict BqnjACkyVtW2BolpcUCeFULFWsb9bB7fIg1rPFp9N7DmPewGu5Kxh1hqThsZkpk

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE a1;
ALTER ROLE a1 WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 7 PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVkLWtleQ==:c2VydmVyLWtleQ==' VALID UNTIL '2030-01-01 00:00:00+00';
COMMENT ON ROLE a1 IS E'multi
line \\ back $$ comment';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVkLWtleQ==:c2VydmVyLWtleQ==';
CREATE ROLE "we""ird";
ALTER ROLE "we""ird" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;

--
-- User Configurations
--

--
-- User Config "a1"
--

ALTER ROLE a1 SET work_mem TO '1MB';
ALTER ROLE a1 SET application_name TO 'x';


--
-- Role memberships
--

GRANT a1 TO "we""ird" WITH ADMIN OPTION GRANTED BY postgres;






\unrestrict BqnjACkyVtW2BolpcUCeFULFWsb9bB7fIg1rPFp9N7DmPewGu5Kxh1hqThsZkpk

--
-- PostgreSQL database cluster dump complete
--

