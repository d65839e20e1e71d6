-- The Orleans ADO.NET providers (invariant "Npgsql") issue only the SQL they read from this table.
-- They load it with the fixed statement `SELECT QueryKey, QueryText FROM OrleansQuery`, so the table and
-- column names are part of the contract (unquoted, PostgreSQL folds them to lower case, which is fine).
-- Each provider caches the catalogue when it starts: a changed query takes effect after a silo restart.

CREATE TABLE OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,

    CONSTRAINT PK_OrleansQuery PRIMARY KEY (QueryKey)
);
