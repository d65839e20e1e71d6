-- Each silo's reminder service loads the reminders of its slice of the hash ring (ReadRangeRows1Key and
-- ReadRangeRows2Key) at start-up and whenever the ring changes; without this index every load scans the table.
CREATE INDEX IX_OrleansRemindersTable_ServiceId_GrainHash
    ON OrleansRemindersTable (ServiceId, GrainHash);
