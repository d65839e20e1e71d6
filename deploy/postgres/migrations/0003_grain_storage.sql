-- Grain state for Microsoft.Orleans.Persistence.AdoNet 10.4.2.
--
-- Contract notes:
--  * A grain is identified by @ServiceId, @GrainTypeHash, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1
--    and @GrainIdExtensionString (NULL for keys without an extension); the hashes only narrow the lookup.
--  * @GrainStateVersion is the grain's ETag: NULL when it has never seen a stored row, else the Version it read.
--  * 10.4.2 writes only @PayloadBinary (no JSON or XML payload parameters are sent).
--  * Write and clear return the new version in one column. Returning no row, NULL, or the unchanged version
--    tells the provider the ETag was stale, and it throws InconsistentStateException.
--  * The optional DeleteStorageKey (DeleteStateOnClear = true) is not provided: clearing keeps the row and
--    its version, so a later write after a clear stays guarded by the ETag.

CREATE TABLE OrleansStorage
(
    ServiceId              varchar(150) NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    PayloadBinary          bytea        NULL,
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    Version                integer      NOT NULL
);

-- One row per grain; NULLS NOT DISTINCT (PostgreSQL 15+) makes two keys without an extension collide too,
-- so two racing first writes cannot both insert.
CREATE UNIQUE INDEX UX_OrleansStorage_Grain
    ON OrleansStorage (GrainIdHash, GrainTypeHash, ServiceId, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionString)
    NULLS NOT DISTINCT;

-- Inserts the first version or replaces the payload of the expected version; returns the new version,
-- or NULL when the caller's ETag is stale (someone else inserted first, or moved the version on).
CREATE FUNCTION orleans_storage_write(
    p_service_id         text,
    p_grain_type_hash    integer,
    p_grain_type_string  text,
    p_grain_id_hash      integer,
    p_grain_id_n0        bigint,
    p_grain_id_n1        bigint,
    p_grain_id_extension text,
    p_expected_version   integer,
    p_payload_binary     bytea)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    new_version integer;
BEGIN
    IF p_expected_version IS NULL THEN
        INSERT INTO OrleansStorage
            (ServiceId, GrainTypeHash, GrainTypeString, GrainIdHash, GrainIdN0, GrainIdN1,
             GrainIdExtensionString, PayloadBinary, ModifiedOn, Version)
        VALUES
            (p_service_id, p_grain_type_hash, p_grain_type_string, p_grain_id_hash, p_grain_id_n0, p_grain_id_n1,
             p_grain_id_extension, p_payload_binary, now(), 1)
        ON CONFLICT DO NOTHING
        RETURNING Version INTO new_version;
    ELSE
        UPDATE OrleansStorage
        SET PayloadBinary = p_payload_binary,
            ModifiedOn = now(),
            Version = Version + 1
        WHERE GrainIdHash = p_grain_id_hash
          AND GrainTypeHash = p_grain_type_hash
          AND ServiceId = p_service_id
          AND GrainIdN0 = p_grain_id_n0
          AND GrainIdN1 = p_grain_id_n1
          AND GrainTypeString = p_grain_type_string
          AND GrainIdExtensionString IS NOT DISTINCT FROM p_grain_id_extension
          AND Version = p_expected_version
        RETURNING Version INTO new_version;
    END IF;
    RETURN new_version;
END
$fn$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

('WriteToStorageKey', $q$
    SELECT orleans_storage_write(
        @ServiceId, @GrainTypeHash, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1,
        @GrainIdExtensionString, @GrainStateVersion, @PayloadBinary) AS NewGrainStateVersion;
$q$),

-- No row means "never stored"; a row with a NULL payload means "cleared", and its Version is still the ETag.
('ReadFromStorageKey', $q$
    SELECT PayloadBinary, Version
    FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND ServiceId = @ServiceId
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString;
$q$),

('ClearStorageKey', $q$
    UPDATE OrleansStorage
    SET PayloadBinary = NULL,
        ModifiedOn = now(),
        Version = Version + 1
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND ServiceId = @ServiceId
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND Version = @GrainStateVersion
    RETURNING Version AS NewGrainStateVersion;
$q$);
